/*
 * ksmp-errno - exercise the calls libksmpreload.so interposes, including
 * their failure modes, and print one line per case: the name, the result
 * (reduced to something address-free) and errno. errno is set to a
 * sentinel (4242) before each call so that a call that changes errno on
 * success shows up too. Run with and without the library: the outputs must
 * be identical.
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SENT 4242

static void line(const char *name, long ret)
{
	int e = errno;
	printf("%s ret=%ld errno=%d\n", name, ret, e == SENT ? -1 : e);
}

/* Pointer results: 0 for NULL/MAP_FAILED, 1 for a usable pointer. */
static long pres(void *p)
{
	return p == NULL ? 0 : p == MAP_FAILED ? -1 : 1;
}

static volatile size_t big = SIZE_MAX / 2;	/* defeat compile-time checks */
static volatile size_t huge = SIZE_MAX;

int main(void)
{
	void *p, *q;
	long pg = sysconf(_SC_PAGESIZE);

	/* --- mmap family */
	errno = SENT; p = mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	line("mmap_len0", pres(p));
	errno = SENT; p = mmap(NULL, (size_t)1 << 60, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	line("mmap_huge", pres(p));
	errno = SENT; p = mmap64(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	line("mmap64_len0", pres(p));
	errno = SENT; p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 12345, 0);
	line("mmap_badfd", pres(p));
	errno = SENT; p = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	line("mmap_ok", pres(p));
	errno = SENT;
	q = mmap((char *)p + pg, (size_t)pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	line("mmap_fixed_noreplace", pres(q));
	errno = SENT;
	q = mmap64((char *)p + pg, (size_t)pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	line("mmap64_fixed_noreplace", pres(q));
	errno = SENT;
	q = mmap((char *)p + pg, (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	line("mmap_fixed", q == (char *)p + pg);
	/* grow in place into the mapped neighbour: ENOMEM */
	errno = SENT; q = mremap(p, (size_t)pg, (size_t)(4 << 20), 0);
	line("mremap_nomove_enomem", pres(q));
	errno = SENT; q = mremap((void *)1, (size_t)pg, (size_t)pg * 2, 0);
	line("mremap_unaligned", pres(q));
	errno = SENT; q = mremap(p, 4 << 20, 8 << 20, MREMAP_MAYMOVE);
	line("mremap_move", pres(q));
	if (q != MAP_FAILED)
		p = q;
	errno = SENT; q = mremap(p, 8 << 20, 1 << 20, 0);
	line("mremap_shrink", q == p);
	errno = SENT; line("munmap_ok", munmap(p, 1 << 20));
	errno = SENT; line("munmap_unaligned", munmap((void *)((uintptr_t)p + 1), 4096));
	errno = SENT; line("munmap_len0", munmap(p, 0));
	errno = SENT; line("munmap_unmapped", munmap(p, 1 << 20));
	errno = SENT; line("munmap_garbage", munmap((void *)(uintptr_t)0xffffffffffff0000ull, (size_t)1 << 40));

	/* --- brk / sbrk */
	errno = SENT; p = sbrk(0); line("sbrk0", p != (void *)-1);
	errno = SENT; p = sbrk((intptr_t)1 << 60); line("sbrk_huge", p != (void *)-1);
	errno = SENT; line("brk_null", brk(NULL) == 0 ? 0 : -1);

	/* --- malloc family */
	errno = SENT; p = malloc(huge); line("malloc_huge", pres(p));
	errno = SENT; p = malloc(0); line("malloc0", pres(p)); free(p);
	errno = SENT; p = malloc(100); line("malloc100", pres(p));
	errno = SENT; line("usable100", malloc_usable_size(p) >= 100 && malloc_usable_size(p) < 200);
	errno = SENT; q = realloc(p, 300000); line("realloc_grow_chunk", pres(q)); p = q;
	errno = SENT; line("usable300000", malloc_usable_size(p) >= 300000 && malloc_usable_size(p) < 310000);
	{
		/* volatile: the compiler cannot know that this realloc fails */
		void *volatile vr = malloc(100);
		errno = SENT; q = realloc(vr, huge); line("realloc_huge", pres(q));
		free(q ? q : vr);
	}
	errno = SENT; q = realloc(p, 10); line("realloc_shrink", pres(q)); p = q;
	errno = SENT; q = realloc(p, 0); line("realloc_zero", pres(q)); free(q);
	errno = SENT; p = realloc(NULL, 50); line("realloc_null", pres(p)); free(p);
	errno = SENT; p = calloc(big, 4); line("calloc_overflow", pres(p));
	errno = SENT; p = calloc(4, big); line("calloc_overflow2", pres(p));
	errno = SENT; p = calloc(1000, 1); line("calloc_n1", pres(p));
	{
		int zero = 1;
		for (int i = 0; p && i < 1000; i++)
			zero &= ((char *)p)[i] == 0;
		errno = SENT; line("calloc_zeroed", zero);
		free(p);
	}
	errno = SENT; p = calloc(300000, 1); line("calloc_chunk", pres(p));
	errno = SENT; line("usable_calloc_chunk", malloc_usable_size(p) >= 300000); free(p);
	errno = SENT; p = reallocarray(NULL, big, 4); line("reallocarray_overflow", pres(p));
	errno = SENT; p = reallocarray(NULL, 10, 10); line("reallocarray_ok", pres(p)); free(p);
	errno = SENT; p = memalign(64, 1000); line("memalign64", pres(p) && ((uintptr_t)p & 63) == 0); free(p);
	errno = SENT; p = memalign(4096, 300000); line("memalign4096_chunk", pres(p) && ((uintptr_t)p & 4095) == 0);
	errno = SENT; line("usable_memalign", malloc_usable_size(p) >= 300000); free(p);
	errno = SENT; p = memalign(24, 100); line("memalign_npot", pres(p)); free(p);
	errno = SENT; p = memalign(64, huge); line("memalign_huge", pres(p));
	p = (void *)1;
	errno = SENT; { int r = posix_memalign(&p, 64, 100); line("posix_memalign_ok", r); }
	errno = SENT; line("posix_memalign_aligned", ((uintptr_t)p & 63) == 0); free(p);
	p = (void *)1;
	errno = SENT; { int r = posix_memalign(&p, 24, 100); line("posix_memalign_einval", r); }
	errno = SENT; line("posix_memalign_einval_untouched", p == (void *)1);
	errno = SENT; { int r = posix_memalign(&p, 3, 100); line("posix_memalign_einval3", r); }
	errno = SENT; { int r = posix_memalign(&p, 64, huge); line("posix_memalign_enomem", r); }
	errno = SENT; p = aligned_alloc(256, 512); line("aligned_alloc", pres(p) && ((uintptr_t)p & 255) == 0); free(p);
	errno = SENT; p = aligned_alloc(3, 10); line("aligned_alloc_bad", pres(p)); free(p);
	errno = SENT; p = valloc(100); line("valloc", pres(p) && ((uintptr_t)p & (uintptr_t)(pg - 1)) == 0);
	errno = SENT; line("usable_valloc", malloc_usable_size(p) >= 100); free(p);
	errno = SENT; p = pvalloc(100); line("pvalloc", pres(p) && ((uintptr_t)p & (uintptr_t)(pg - 1)) == 0);
	errno = SENT; line("usable_pvalloc", malloc_usable_size(p) >= (size_t)pg); free(p);
	errno = SENT; free(NULL); line("free_null", 0);
	errno = SENT; line("usable_null", (long)malloc_usable_size(NULL));
	/* a batch of mixed sizes keeps its contents through realloc */
	{
		char *v[64];
		int good = 1;
		for (int i = 0; i < 64; i++) {
			size_t n = (size_t)(i * 9973 % 200000) + 1;
			v[i] = malloc(n);
			if (!v[i]) { good = 0; continue; }
			memset(v[i], i, n);
			v[i] = realloc(v[i], n * 2);
			if (!v[i]) { good = 0; continue; }
			for (size_t k = 0; k < n; k++)
				if (v[i][k] != (char)i) { good = 0; break; }
		}
		for (int i = 0; i < 64; i++)
			free(v[i]);
		errno = SENT; line("realloc_keeps_data", good);
	}
	fflush(stdout);
	return 0;
}
