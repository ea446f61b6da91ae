/*
 * heap.c - the crypto heap: where malloc-family calls made by a crypto
 * library are served (malloc.c asks crypto.c who called), so that keys
 * and other secrets never lie in memory that KSM may merge, whatever the
 * policy advises for the main heap and the arenas.
 *
 * Memory comes from segments: 32 MiB (growing to 1 GiB as more are
 * needed, or larger for one big block) PROT_NONE reservations made with a raw mmap system call (never through
 * the library's own mmap interposer, so no rule can select them), marked
 * MADV_UNMERGEABLE at once (under PR_SET_MEMORY_MERGE the kernel marks
 * every new mapping mergeable) and committed with mprotect as the bump
 * pointer reaches them. ksmp_heap_reseal() marks every segment
 * unmergeable again after whole-process merging was switched on again.
 *
 * Blocks carry a 16-byte header. Small blocks (up to 64 KiB with their
 * header) come in 43 size classes, each with a free list; larger ones are
 * page runs, kept on one address-ordered, coalescing free list when
 * freed (their pages given back with MADV_DONTNEED). Blocks aligned beyond
 * 16 bytes have a second header that points back to the block.
 *
 * One mutex guards everything (crypto code allocates little, compared
 * with the rest of a program); fork takes it in the prepare handler, and
 * the forking thread then holds it until its parent or child handler:
 * fork handlers registered before ours (a crypto library's constructor
 * runs before the library's) run inside that span, and their allocations
 * go on under the hold instead of waiting for it for ever.
 * Ownership (ksmp_heap_owns) is lock-free: segments are only ever added.
 *
 * Never: call the malloc family, the library's interposers or stdio here.
 * Errors: NULL with errno ENOMEM, as malloc; errno is otherwise left alone.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib.h"

#ifndef MADV_UNMERGEABLE
#define MADV_UNMERGEABLE 13
#endif

#define SEG_SIZE	(32ul << 20)
#define MAX_SEGS	128
#define COMMIT_STEP	(256ul << 10)
#define PAGE		4096ul
#define HDR		16ul
#define SMALL_MAX	65536ul		/* largest class, header included */
#define LARGE_SPLIT	(64ul << 10)	/* leave a remainder this big free */

#define MAGIC_USED	0x6b736d70u	/* a live block */
#define MAGIC_FREE	0x6b736d66u	/* a small block on a free list */
#define MAGIC_ALIGNED	0x6b736d61u	/* an aligned pointer inside a block */
#define CLS_LARGE	0xffffu

struct hdr {
	uint32_t magic;
	uint32_t cls;		/* size class, or CLS_LARGE */
	uint64_t size;		/* block bytes with the header; for
				 * MAGIC_ALIGNED: offset back to the block */
};

struct seg {
	uintptr_t lo, hi;	/* the reservation */
	uintptr_t bump;		/* next free byte */
	uintptr_t committed;	/* read-write up to here */
};

struct run {			/* a free large run, in its first bytes */
	size_t len;
	struct run *next;
};

static const uint32_t cls_size[] = {
	32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512,
	640, 768, 896, 1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096,
	5120, 6144, 7168, 8192, 10240, 12288, 14336, 16384, 20480, 24576,
	28672, 32768, 40960, 49152, 57344, 65536,
};
#define NCLS (sizeof(cls_size) / sizeof(cls_size[0]))

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
/* This thread's forks under way: while not 0 it holds mu across the
 * fork (a fork from a signal handler inside its fork nests: 2). */
static KSMP_TLS unsigned fork_depth;
static struct seg segs[MAX_SEGS] KSMP_BIG;
static unsigned nsegs;			/* published with release */
static struct seg *cur;			/* bump segment */
static void *freelist[NCLS];
static struct run *runs;		/* free large runs, by address */
/* Bounding box of all segments and of the bootstrap pool's blocks: the
 * quick test in free(). */
uintptr_t ksmp_own_lo = UINTPTR_MAX, ksmp_own_hi;

void ksmp_own_add(uintptr_t lo, uintptr_t hi)
{
	uintptr_t b = __atomic_load_n(&ksmp_own_lo, __ATOMIC_RELAXED);
	while (lo < b && !__atomic_compare_exchange_n(&ksmp_own_lo, &b, lo, false,
						      __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	b = __atomic_load_n(&ksmp_own_hi, __ATOMIC_RELAXED);
	while (hi > b && !__atomic_compare_exchange_n(&ksmp_own_hi, &b, hi, false,
						      __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

static void die(const char *what)
{
	ksmp_die("ksmpreload: crypto heap: ", what, "; aborting\n");
}

static uintptr_t round_up(uintptr_t a, uintptr_t to)
{
	return (a + to - 1) & ~(to - 1);
}

static unsigned cls_of(size_t n)
{
	unsigned lo = 0, hi = NCLS - 1;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (cls_size[mid] < n)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* ------------------------------------------------------------ segments */
static struct seg *seg_new(size_t need)
{
	if (nsegs >= MAX_SEGS)
		return NULL;
	/* 32 MiB, doubling every 8 segments up to 1 GiB: room for about
	 * 96 GiB in all, in a bounded number of VMAs (two per segment) */
	unsigned shift = nsegs / 8 < 5 ? nsegs / 8 : 5;
	size_t size = SEG_SIZE << shift;
	size_t len = need > size / 2 ? round_up(need + PAGE, SEG_SIZE) : size;
	long r = syscall(SYS_mmap, NULL, len, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r == -1 || (uintptr_t)r > (uintptr_t)-4096)
		return NULL;
	uintptr_t lo = (uintptr_t)r;
	/* Under PR_SET_MEMORY_MERGE the new mapping was made mergeable. */
	madvise((void *)lo, len, MADV_UNMERGEABLE);
	struct seg *s = &segs[nsegs];
	s->lo = s->bump = s->committed = lo;
	s->hi = lo + len;
	ksmp_own_add(lo, lo + len);
	__atomic_store_n(&nsegs, nsegs + 1, __ATOMIC_RELEASE);
	return s;
}

static bool commit(struct seg *s, uintptr_t end)
{
	if (end <= s->committed)
		return true;
	uintptr_t e = round_up(end, COMMIT_STEP);
	if (e > s->hi)
		e = s->hi;
	if (mprotect((void *)s->committed, e - s->committed,
		     PROT_READ | PROT_WRITE) != 0)
		return false;
	s->committed = e;
	return true;
}

/* len bytes at an align boundary from the bump pointer; NULL when no
 * memory can be had. */
static void *bump(size_t len, size_t align)
{
	for (int tries = 0; tries < 2; tries++) {
		if (cur) {
			uintptr_t a = round_up(cur->bump, align);
			if (a + len <= cur->hi && a + len > a) {
				if (!commit(cur, a + len))
					return NULL;
				cur->bump = a + len;
				return (void *)a;
			}
		}
		struct seg *s = seg_new(len + align);
		if (!s)
			return NULL;
		cur = s;
	}
	return NULL;
}

/* ---------------------------------------------------------- large runs */
static void *large_alloc(size_t len)
{
	for (struct run **pp = &runs; *pp; pp = &(*pp)->next) {
		struct run *r = *pp;
		if (r->len < len)
			continue;
		if (r->len - len >= LARGE_SPLIT) {
			struct run *rest = (struct run *)((char *)r + len);
			rest->len = r->len - len;
			rest->next = r->next;
			*pp = rest;
		} else {
			len = r->len;
			*pp = r->next;
		}
		struct hdr *h = (struct hdr *)r;
		h->size = len;
		return h;
	}
	struct hdr *h = bump(len, PAGE);
	if (h)
		h->size = len;
	return h;
}

static void large_free(struct hdr *h)
{
	struct run *r = (struct run *)h;
	size_t len = (size_t)h->size;
	if (len > PAGE) {
		int e = errno;
		madvise((char *)r + PAGE, len - PAGE, MADV_DONTNEED);
		errno = e;
	}
	r->len = len;
	struct run *prev = NULL, *next = runs;
	while (next && next < r) {
		prev = next;
		next = next->next;
	}
	if (next && (char *)r + r->len == (char *)next) {
		r->len += next->len;
		next = next->next;
	}
	r->next = next;
	if (prev && (char *)prev + prev->len == (char *)r) {
		prev->len += r->len;
		prev->next = next;
	} else if (prev) {
		prev->next = r;
	} else {
		runs = r;
	}
}

/* ------------------------------------------------------------- blocks */
static void *alloc_locked(size_t size)
{
	if (size > SIZE_MAX / 2)
		return NULL;
	size_t n = round_up(size + HDR, 16);
	struct hdr *h;
	if (n <= SMALL_MAX) {
		unsigned c = cls_of(n);
		void *p = freelist[c];
		if (p) {
			freelist[c] = *(void **)p;
			h = (struct hdr *)p - 1;
		} else {
			h = bump(cls_size[c], 16);
			if (!h)
				return NULL;
		}
		h->cls = c;
		h->size = cls_size[c];
	} else {
		h = large_alloc(round_up(n, PAGE));
		if (!h)
			return NULL;
		h->cls = CLS_LARGE;
	}
	h->magic = MAGIC_USED;
	return h + 1;
}

/* The block p lies in (p may be an aligned pointer inside one). */
static struct hdr *block_of(void *p, size_t *skip)
{
	struct hdr *h = (struct hdr *)p - 1;
	*skip = 0;
	if (h->magic == MAGIC_ALIGNED) {
		*skip = (size_t)h->size;
		h = (struct hdr *)((char *)p - *skip) - 1;
	}
	if (h->magic == MAGIC_USED)
		return h;
	die(h->magic == MAGIC_FREE ? "double free" : "free of an invalid pointer");
	return NULL;
}

static void free_locked(void *p)
{
	size_t skip;
	struct hdr *h = block_of(p, &skip);
	if (h->cls == CLS_LARGE) {
		large_free(h);
		return;
	}
	if (h->cls >= NCLS)
		die("corrupt block header");
	unsigned c = h->cls;
	h->magic = MAGIC_FREE;
	*(void **)(h + 1) = freelist[c];
	freelist[c] = h + 1;
}

static size_t usable(void *p)
{
	size_t skip;
	struct hdr *h = block_of(p, &skip);
	return (size_t)h->size - HDR - skip;
}

/* --------------------------------------------------------------- API */
static void lock(void)
{
	if (!fork_depth)
		pthread_mutex_lock(&mu);
}

static void unlock(void)
{
	if (!fork_depth)
		pthread_mutex_unlock(&mu);
}

bool ksmp_heap_owns_slow(uintptr_t a)
{
	unsigned n = __atomic_load_n(&nsegs, __ATOMIC_ACQUIRE);
	for (unsigned i = 0; i < n; i++)
		if (a >= segs[i].lo && a < segs[i].hi)
			return true;
	return false;
}

bool ksmp_heap_overlaps(uintptr_t lo, uintptr_t hi)
{
	unsigned n = __atomic_load_n(&nsegs, __ATOMIC_ACQUIRE);
	for (unsigned i = 0; i < n; i++)
		if (lo < segs[i].hi && hi > segs[i].lo)
			return true;
	return false;
}

void *ksmp_heap_malloc(size_t size)
{
	int e = errno;
	lock();
	void *p = alloc_locked(size);
	unlock();
	errno = p ? e : ENOMEM;
	return p;
}

void *ksmp_heap_calloc(size_t n, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	void *p = ksmp_heap_malloc(total);
	if (p)
		memset(p, 0, total);
	return p;
}

/* align: a power of two. */
void *ksmp_heap_memalign(size_t align, size_t size)
{
	if (align <= 16)
		return ksmp_heap_malloc(size);
	if (size > SIZE_MAX / 2 || align > SIZE_MAX / 4) {
		errno = ENOMEM;
		return NULL;
	}
	int e = errno;
	lock();
	char *p = alloc_locked(size + align);
	char *q = p;
	if (p) {
		q = (char *)round_up((uintptr_t)p, align);
		if (q != p) {	/* q - p >= 16: room for the second header */
			struct hdr *a = (struct hdr *)q - 1;
			a->magic = MAGIC_ALIGNED;
			a->cls = 0;
			a->size = (uint64_t)(q - p);
		}
	}
	unlock();
	errno = p ? e : ENOMEM;
	return q;
}

void ksmp_heap_free(void *p)
{
	if (!p)
		return;
	lock();
	free_locked(p);
	unlock();
}

size_t ksmp_heap_usable(void *p)
{
	return p ? usable(p) : 0;
}

/* realloc of a block of ours: it stays in the crypto heap. size 0 frees
 * it and returns NULL, as glibc's realloc does. */
void *ksmp_heap_realloc(void *p, size_t size)
{
	if (!p)
		return ksmp_heap_malloc(size);
	if (size == 0) {
		ksmp_heap_free(p);
		return NULL;
	}
	size_t old = usable(p);
	if (size <= old && size >= old / 2)
		return p;
	void *q = ksmp_heap_malloc(size);
	if (!q)
		return NULL;
	memcpy(q, p, old < size ? old : size);
	ksmp_heap_free(p);
	return q;
}

/* After prctl(PR_SET_MEMORY_MERGE, 1), which marks every mapping
 * mergeable again. Async-signal-safe (the control agent calls it). */
void ksmp_heap_reseal(void)
{
	int e = errno;
	unsigned n = __atomic_load_n(&nsegs, __ATOMIC_ACQUIRE);
	for (unsigned i = 0; i < n; i++)
		madvise((void *)segs[i].lo, segs[i].hi - segs[i].lo, MADV_UNMERGEABLE);
	errno = e;
}

/* mu is held across a fork; a fork from a signal handler inside this
 * thread's fork finds it this thread's already, and its child, where the
 * outer fork goes on, holds it again for the outer fork's parent handler
 * to release. */
static void fork_prepare(void)
{
	if (fork_depth) {
		fork_depth++;
		return;
	}
	pthread_mutex_lock(&mu);	/* a handler's malloc meanwhile locks too */
	fork_depth = 1;
}

static void fork_parent(void)
{
	if (fork_depth > 1) {
		fork_depth--;
		return;
	}
	fork_depth = 0;
	pthread_mutex_unlock(&mu);
}

static void fork_child(void)
{
	pthread_mutex_init(&mu, NULL);
	if (fork_depth > 1) {
		fork_depth--;
		pthread_mutex_lock(&mu);
		return;
	}
	fork_depth = 0;
}

void ksmp_heap_atfork(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}
