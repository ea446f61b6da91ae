/*
 * malloc.c - the malloc family interposers. Each forwards to the next
 * allocator (glibc's, or jemalloc/tcmalloc when loaded after us) and
 * returns exactly what it returned, errno included. When the allocator is
 * glibc's and the policy selects heap, arena or chunk memory, the returned
 * chunk's header tells which region it lies in (ksmp_after_alloc): the
 * cost is one load and a few compares unless a region is new.
 *
 * While dlsym runs (symbols.c) allocations come from the bootstrap pool;
 * free/realloc/malloc_usable_size recognise pool blocks.
 *
 * Once the crypto heap is on (heap.c), calls made by a crypto library
 * (crypto.c) are served from it: free, realloc and malloc_usable_size
 * recognise its blocks from anyone; realloc keeps them in it, and moves a
 * block into it when a crypto library grows someone else's.
 *
 * Never: advise per chunk, allocate, use stdio or locks here.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "lib.h"

#define RET __builtin_return_address(0)

static inline bool hooks(void)
{
	return __atomic_load_n(&ksmp_cfg.alloc_hooks, __ATOMIC_RELAXED);
}

/* Before the real functions are known (only while dlsym runs). */
static inline bool bootstrap(void)
{
	if (KSMP_LIKELY(ksmp_resolved))
		return false;
	ksmp_symbols_resolve();
	return !ksmp_resolved;
}

static inline void *done(void *p, const void *ret)
{
	if (hooks())
		ksmp_after_alloc(p, ret);
	return p;
}

/* Forget an mmapped chunk that free/realloc is about to give back (a
 * realloc keeps its record in *kept, to put back should it fail); free
 * also raises glibc's dynamic mmap threshold, as glibc would. */
KSMP_COLD static void mmapped_leaving(void *p, size_t h, bool freeing,
				      struct ksmp_piece *kept)
{
	if (ksmp_cfg.want_chunk)
		ksmp_engine_chunk_gone(p, h, kept);
	if (freeing)
		ksmp_engine_mmapped_freed(h & ~(size_t)KSMP_CHUNK_FLAGS);
}

static inline void chunk_leaving(void *p, bool freeing, struct ksmp_piece *kept)
{
	if (p && hooks()) {
		size_t h = ksmp_chunk_head(p);
		if (KSMP_UNLIKELY(h & KSMP_CHUNK_MMAPPED) && !ksmp_busy)
			mmapped_leaving(p, h, freeing, kept);
	}
}

/* What a realloc returned: one that failed (NULL for a size other than 0:
 * kept->end set) left the block as it was, and its record goes back. */
static inline void *realloc_done(void *q, const struct ksmp_piece *kept,
				 const void *ret)
{
	if (KSMP_UNLIKELY(!q && kept->end))
		ksmp_engine_chunk_back(kept);
	return done(q, ret);
}

static inline bool crypto(const void *ret)
{
	return KSMP_UNLIKELY(__atomic_load_n(&ksmp_heap_on, __ATOMIC_RELAXED)) &&
	       (ksmp_heap_crypto(ret) || KSMP_UNLIKELY(ksmp_tramp_alloc));
}

/* The common case, in a few compares: the real functions are known, and
 * the crypto heap is off or the caller known not to be a crypto
 * library's. Otherwise the interposer takes the whole way (bootstrap,
 * crypto), which looks at everything again. */
static inline bool plain(const void *ret)
{
	return KSMP_LIKELY(ksmp_resolved) &&
	       (KSMP_LIKELY(!__atomic_load_n(&ksmp_heap_on, __ATOMIC_RELAXED)) ||
		(ksmp_heap_known_plain(ret) && KSMP_LIKELY(!ksmp_tramp_alloc)));
}

/* Alignments the crypto heap takes; anything odd goes to the real
 * allocator, which answers it as it always did. */
static inline bool aligned_ok(size_t align)
{
	return align && !(align & (align - 1)) && align <= 65536;
}

static KSMP_TLS int probing;

/* Do the program's malloc calls reach us? Not when another allocator
 * (jemalloc, ASan) comes first in lookup order. Comparing addresses is not
 * enough (a non-PIE executable's canonical PLT entry stands for malloc),
 * so call free(NULL) the way everybody does and see if we get it: an
 * allocator that takes malloc takes free too, and free(NULL) does not
 * make glibc set its heap up in a program that never allocates. */
bool ksmp_malloc_reached(void)
{
	void (*volatile fr)(void *) = free;
	probing = 1;
	fr(NULL);
	bool reached = probing == 2;
	probing = 0;
	return reached;
}

KSMP_COLD static void *malloc_at(size_t size, const void *ret)
{
	if (bootstrap()) {
		void *p = ksmp_pool_alloc(size, 16);
		if (!p)
			errno = ENOMEM;
		return p;
	}
	if (crypto(ret))
		return ksmp_heap_malloc(size);
	return done(ksmp_real.malloc(size), ret);
}

KSMP_EXPORT void *malloc(size_t size)
{
	if (KSMP_UNLIKELY(!plain(RET)))
		return malloc_at(size, RET);
	return done(ksmp_real.malloc(size), RET);
}

/* free's whole way, for p != NULL: the library's own blocks, the
 * bootstrap, a chunk leaving. */
KSMP_COLD static void free_at(void *p)
{
	if (KSMP_UNLIKELY(ksmp_pool_owns(p)))
		return;
	if (KSMP_UNLIKELY(ksmp_heap_owns(p))) {
		ksmp_heap_free(p);
		return;
	}
	if (bootstrap() && !ksmp_real.free)
		return;		/* cannot happen with a sane libc: leak */
	chunk_leaving(p, true, NULL);
	ksmp_real.free(p);
}

KSMP_EXPORT void free(void *p)
{
	if (!p) {
		if (KSMP_UNLIKELY(probing))
			probing = 2;
		return;
	}
	/* The common case: not the library's own block, the real functions
	 * known, and not an mmapped chunk that the engine must hear of. */
	if (ksmp_own_maybe(p) || KSMP_UNLIKELY(!ksmp_resolved) ||
	    (hooks() && KSMP_UNLIKELY(ksmp_chunk_head(p) & KSMP_CHUNK_MMAPPED))) {
		free_at(p);
		return;
	}
	ksmp_real.free(p);
}

KSMP_COLD static void *calloc_at(size_t n, size_t size, const void *ret)
{
	if (bootstrap()) {
		size_t total;
		void *p = NULL;
		if (!__builtin_mul_overflow(n, size, &total))
			p = ksmp_pool_alloc(total, 16);	/* pool memory is zero */
		if (!p)
			errno = ENOMEM;
		return p;
	}
	if (crypto(ret))
		return ksmp_heap_calloc(n, size);
	return done(ksmp_real.calloc(n, size), ret);
}

KSMP_EXPORT void *calloc(size_t n, size_t size)
{
	if (KSMP_UNLIKELY(!plain(RET)))
		return calloc_at(n, size, RET);
	return done(ksmp_real.calloc(n, size), RET);
}

static void *pool_realloc(void *p, size_t size)
{
	void *q = malloc(size);
	if (q) {
		size_t old = ksmp_pool_size(p);
		memcpy(q, p, old < size ? old : size);
	}
	return q;
}

/* A crypto library grows a block it did not get from the crypto heap (or
 * NULL): move it in. glibc's realloc(p, 0) frees p and returns NULL. */
static void *realloc_into_heap(void *p, size_t size)
{
	if (!p)
		return ksmp_heap_malloc(size);
	if (!ksmp_real.malloc_usable_size)
		return NULL;
	if (size == 0) {
		chunk_leaving(p, true, NULL);
		ksmp_real.free(p);
		return NULL;
	}
	void *q = ksmp_heap_malloc(size);
	if (!q)
		return NULL;
	size_t old = ksmp_real.malloc_usable_size(p);
	memcpy(q, p, old < size ? old : size);
	chunk_leaving(p, true, NULL);
	ksmp_real.free(p);
	return q;
}

static void *realloc_at(void *p, size_t size, const void *ret)
{
	if (KSMP_UNLIKELY(p && ksmp_pool_owns(p)))
		return pool_realloc(p, size);
	if (KSMP_UNLIKELY(p && ksmp_heap_owns(p)))
		return ksmp_heap_realloc(p, size);
	if (bootstrap()) {
		void *q = ksmp_pool_alloc(size, 16);
		if (!q)
			errno = ENOMEM;
		return q;
	}
	if (crypto(ret) && (!p || ksmp_real.malloc_usable_size))
		return realloc_into_heap(p, size);
	struct ksmp_piece kept;
	kept.end = 0;
	chunk_leaving(p, size == 0, size ? &kept : NULL);	/* realloc(p, 0) frees p */
	return realloc_done(ksmp_real.realloc(p, size), &kept, ret);
}

KSMP_EXPORT void *realloc(void *p, size_t size)
{
	return realloc_at(p, size, RET);
}

KSMP_EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
	size_t total;
	if (KSMP_UNLIKELY((p && (ksmp_pool_owns(p) || ksmp_heap_owns(p))) ||
			  bootstrap() || !ksmp_real.reallocarray || crypto(RET))) {
		if (__builtin_mul_overflow(n, size, &total)) {
			errno = ENOMEM;
			return NULL;
		}
		return realloc_at(p, total, RET);
	}
	/* glibc leaves p alone when the product overflows: no chunk leaves */
	struct ksmp_piece kept;
	kept.end = 0;
	if (!__builtin_mul_overflow(n, size, &total))	/* realloc(p, 0) frees p */
		chunk_leaving(p, total == 0, total ? &kept : NULL);
	return realloc_done(ksmp_real.reallocarray(p, n, size), &kept, RET);
}

/* The program's own malloc settings: the engine stops raising the mmap
 * threshold for it once it sets one that turns glibc's rule off. */
KSMP_EXPORT int mallopt(int param, int value)
{
	if (bootstrap() && !ksmp_real.mallopt)
		return 0;
	if (!ksmp_real.mallopt)
		return 0;
	ksmp_engine_mallopt(param);
	return ksmp_real.mallopt(param, value);
}

/* memalign and aligned_alloc: the same path to their own real function,
 * *real read after bootstrap() (which may resolve it); ret: the
 * interposer's caller. */
typedef void *(*align_fn)(size_t, size_t);
static inline void *aligned_from(const align_fn *real, size_t align,
				 size_t size, const void *ret)
{
	if (bootstrap() || !*real) {
		void *p = ksmp_pool_alloc(size, align);
		if (!p)
			errno = ENOMEM;
		return p;
	}
	if (aligned_ok(align) && crypto(ret))
		return ksmp_heap_memalign(align, size);
	return done((*real)(align, size), ret);
}

KSMP_EXPORT void *memalign(size_t align, size_t size)
{
	return aligned_from(&ksmp_real.memalign, align, size, RET);
}

KSMP_EXPORT void *aligned_alloc(size_t align, size_t size)
{
	return aligned_from(&ksmp_real.aligned_alloc, align, size, RET);
}

KSMP_EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
	if (bootstrap() || !ksmp_real.posix_memalign) {
		if (!align || align & (align - 1) || align % sizeof(void *))
			return EINVAL;
		void *p = ksmp_pool_alloc(size, align);
		if (!p)
			return ENOMEM;
		*out = p;
		return 0;
	}
	if (aligned_ok(align) && align >= sizeof(void *) && crypto(RET)) {
		void *p = ksmp_heap_memalign(align, size);
		if (!p)
			return ENOMEM;	/* errno ENOMEM too, as glibc leaves it */
		*out = p;
		return 0;
	}
	int r = ksmp_real.posix_memalign(out, align, size);
	if (r == 0)
		done(*out, RET);
	return r;
}

KSMP_EXPORT void *valloc(size_t size)
{
	if (bootstrap() || !ksmp_real.valloc) {
		void *p = ksmp_pool_alloc(size, 4096);
		if (!p)
			errno = ENOMEM;
		return p;
	}
	if (crypto(RET))
		return ksmp_heap_memalign(4096, size);
	return done(ksmp_real.valloc(size), RET);
}

KSMP_EXPORT void *pvalloc(size_t size)
{
	if (bootstrap() || !ksmp_real.pvalloc) {
		void *p = ksmp_pool_alloc((size + 4095) & ~(size_t)4095, 4096);
		if (!p)
			errno = ENOMEM;
		return p;
	}
	if (crypto(RET)) {
		size_t n = size ? (size + 4095) & ~(size_t)4095 : 4096;
		if (n < size) {
			errno = ENOMEM;
			return NULL;
		}
		return ksmp_heap_memalign(4096, n);
	}
	return done(ksmp_real.pvalloc(size), RET);
}

KSMP_EXPORT size_t malloc_usable_size(void *p)
{
	if (!p)
		return 0;
	if (KSMP_UNLIKELY(ksmp_pool_owns(p)))
		return ksmp_pool_size(p);
	if (KSMP_UNLIKELY(ksmp_heap_owns(p)))
		return ksmp_heap_usable(p);
	if (bootstrap() || !ksmp_real.malloc_usable_size)
		return 0;
	return ksmp_real.malloc_usable_size(p);
}
