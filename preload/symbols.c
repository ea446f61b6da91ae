/*
 * symbols.c - the real functions behind every interposer, and the
 * bootstrap allocator that answers allocations made while dlsym runs.
 *
 * Lookups use dlsym(RTLD_NEXT): the next definition in lookup order, which
 * is glibc's, or another preloaded allocator's (jemalloc, tcmalloc) when
 * it comes after us. Required functions missing is fatal (a message via
 * write(2), then abort); optional ones fall back in the interposer.
 *
 * Never: call malloc here (dlsym is the only caller that can), use stdio.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib.h"

struct ksmp_real ksmp_real;
volatile int ksmp_resolved;
/* volatile: glibc declares dlsym leaf (__THROW), so the compiler may
 * take it that dlsym cannot reach this file again and drop the increment
 * in front of it (GCC 12 did: the pool never served dlsym's allocations,
 * which ran a second resolution inside the first instead). */
static KSMP_TLS volatile int in_dlsym;

bool ksmp_in_dlsym(void)
{
	return in_dlsym != 0;
}

/* ---------------------------------------------------------- bootstrap pool
 * A bump allocator over a static array. Only dlsym's own allocations (a
 * failing lookup's dlerror buffer) land here; they are never given back.
 * Each block carries its size in front of it, for realloc and
 * malloc_usable_size. */
#define POOL_SIZE (64 * 1024)
static _Alignas(64) unsigned char pool[POOL_SIZE] KSMP_BIG;
static size_t pool_used;

void *ksmp_pool_alloc(size_t size, size_t align)
{
	if (align < 16)
		align = 16;
	if (align & (align - 1) || size > POOL_SIZE)
		return NULL;
	size_t old = __atomic_load_n(&pool_used, __ATOMIC_RELAXED);
	for (;;) {
		size_t start = (old + 16 + align - 1) & ~(align - 1);
		size_t end = start + ((size + 15) & ~(size_t)15);
		if (end > POOL_SIZE)
			return NULL;
		if (__atomic_compare_exchange_n(&pool_used, &old, end, false,
						__ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
			size_t *hdr = (size_t *)(pool + start) - 1;
			*hdr = size;
			/* free() tells our blocks by this box first */
			ksmp_own_add((uintptr_t)pool, (uintptr_t)pool + POOL_SIZE);
			return pool + start;
		}
	}
}

bool ksmp_pool_owns(const void *p)
{
	const unsigned char *c = p;
	return c >= pool && c < pool + POOL_SIZE;
}

size_t ksmp_pool_size(const void *p)
{
	return ((const size_t *)p)[-1];
}

/* ------------------------------------------------------------------ lookup */
/* Raw system calls: write() is interposed (write.c), and resolving it may
 * be what failed. */
void ksmp_die(const char *a, const char *what, const char *b)
{
	syscall(SYS_write, 2, a, strlen(a));
	syscall(SYS_write, 2, what, strlen(what));
	syscall(SYS_write, 2, b, strlen(b));
	abort();
}

static void die_missing(const char *name)
{
	ksmp_die("ksmpreload: cannot find the real ", name, "(); aborting\n");
}

static void *next(const char *name, bool required)
{
	in_dlsym++;
	void *f = dlsym(RTLD_NEXT, name);
	in_dlsym--;
	if (!f && required)
		die_missing(name);
	return f;
}

void *ksmp_real_lazy(void **cache, const char *name)
{
	void *f = __atomic_load_n(cache, __ATOMIC_ACQUIRE);
	if (!f) {
		int saved = errno;
		f = next(name, false);
		errno = saved;
		__atomic_store_n(cache, f, __ATOMIC_RELEASE);
	}
	return f;
}

#define GET(field, name, req) \
	__atomic_store_n((void **)&ksmp_real.field, next(name, req), __ATOMIC_RELAXED)

void ksmp_symbols_resolve(void)
{
	int saved = errno;
	if (in_dlsym)
		return;
	/* first: the library's own system calls go through the interposer
	 * (state.c), also in the control signal's handler, where no
	 * lookup may run */
	GET(syscall, "syscall", false);
	GET(malloc, "malloc", true);
	GET(free, "free", true);
	GET(calloc, "calloc", true);
	GET(realloc, "realloc", true);
	GET(reallocarray, "reallocarray", false);
	GET(memalign, "memalign", false);
	GET(posix_memalign, "posix_memalign", false);
	GET(aligned_alloc, "aligned_alloc", false);
	GET(valloc, "valloc", false);
	GET(pvalloc, "pvalloc", false);
	GET(malloc_usable_size, "malloc_usable_size", false);
	GET(mmap, "mmap", true);
	GET(mmap64, "mmap64", false);
	GET(munmap, "munmap", true);
	GET(mremap, "mremap", true);
	GET(brk, "brk", false);
	GET(sbrk, "sbrk", false);
	GET(pthread_create, "pthread_create", false);
	GET(dlclose, "dlclose", false);
	GET(register_atfork, "__register_atfork", false);
	GET(pause, "pause", false);
	GET(sigsuspend, "sigsuspend", false);
	GET(write, "write", false);
	GET(writev, "writev", false);
	GET(mallopt, "mallopt", false);
	GET(libc_malloc, "__libc_malloc", false);
	__atomic_store_n(&ksmp_resolved, 1, __ATOMIC_RELEASE);
	errno = saved;
}
