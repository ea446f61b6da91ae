/*
 * fakecrypto.c - built as tests/heap/libcrypto.so.ksmptest: a shared
 * object whose name matches the crypto libraries' caller= globs
 * (libcrypto.so*), so that the library treats its malloc calls as a
 * crypto library's. Every function calls the malloc family from here
 * (built with -fno-optimize-sibling-calls: no tail calls, the return
 * address stays in this object).
 *
 * With KT_ATFORK=1 in the environment, its constructor registers fork
 * handlers that allocate and free from here, as a crypto library's may:
 * preloaded after the library, this constructor runs before the
 * library's, so they are registered before the crypto heap's.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>

#define KEEP(p) __asm__ volatile("" : : "r"(p) : "memory")

void *kt_malloc(size_t n);
void *kt_malloc(size_t n) { void *p = malloc(n); KEEP(p); return p; }
void *kt_calloc(size_t n, size_t s);
void *kt_calloc(size_t n, size_t s) { void *p = calloc(n, s); KEEP(p); return p; }
void *kt_realloc(void *q, size_t n);
void *kt_realloc(void *q, size_t n) { void *p = realloc(q, n); KEEP(p); return p; }
void *kt_reallocarray(void *q, size_t n, size_t s);
void *kt_reallocarray(void *q, size_t n, size_t s) { void *p = reallocarray(q, n, s); KEEP(p); return p; }
void kt_free(void *p);
void kt_free(void *p) { free(p); KEEP(p); }
int kt_posix_memalign(void **out, size_t a, size_t n);
int kt_posix_memalign(void **out, size_t a, size_t n) { int r = posix_memalign(out, a, n); KEEP(r); return r; }
void *kt_aligned_alloc(size_t a, size_t n);
void *kt_aligned_alloc(size_t a, size_t n) { void *p = aligned_alloc(a, n); KEEP(p); return p; }
void *kt_memalign(size_t a, size_t n);
void *kt_memalign(size_t a, size_t n) { void *p = memalign(a, n); KEEP(p); return p; }
void *kt_valloc(size_t n);
void *kt_valloc(size_t n) { void *p = valloc(n); KEEP(p); return p; }
void *kt_pvalloc(size_t n);
void *kt_pvalloc(size_t n) { void *p = pvalloc(n); KEEP(p); return p; }
size_t kt_usable(void *p);
size_t kt_usable(void *p) { size_t n = malloc_usable_size(p); KEEP(n); return n; }

static void *kt_held;
static void kt_prepare(void) { kt_held = malloc(100); KEEP(kt_held); }
static void kt_after(void) { free(kt_held); void *p = malloc(3000); KEEP(p); free(p); }
__attribute__((constructor)) static void kt_init(void)
{
	const char *e = getenv("KT_ATFORK");
	if (e && e[0] == '1')
		pthread_atfork(kt_prepare, kt_after, kt_after);
}
