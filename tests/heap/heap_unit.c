/*
 * heap_unit - preload/heap.c on its own, linked into this program (not
 * preloaded), so that the sanitizer build checks its code too: blocks of
 * every size class and large runs, alignment, realloc, reuse after free,
 * large-run coalescing, reseal, 4 threads at once, and fork handlers
 * registered before the heap's that allocate from it. TAP.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib.h"
#include "tap.h"

void ksmp_die(const char *a, const char *what, const char *b)
{
	fprintf(stderr, "%s%s%s", a, what, b);
	abort();
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i * 13);
}

static int same(const unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(seed + i * 13))
			return 0;
	return 1;
}

static void *worker(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	enum { N = 512 };
	unsigned char *b[N] = { 0 };
	size_t len[N] = { 0 };
	uint64_t x = 88172645463325252ull ^ id;
	for (int it = 0; it < 40000; it++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		unsigned s = (unsigned)(x % N);
		if (b[s]) {
			if (!same(b[s], len[s], s + (unsigned)id))
				return (void *)1;
			ksmp_heap_free(b[s]);
		}
		len[s] = (x >> 20) % 97 == 0 ? 70000 + (x >> 32) % 300000 :
			 1 + (x >> 24) % 5000;
		b[s] = (x & 1) ? ksmp_heap_malloc(len[s]) :
		       ksmp_heap_memalign((size_t)64 << ((x >> 8) % 4), len[s]);
		if (!b[s] || !ksmp_heap_owns(b[s]))
			return (void *)1;
		fill(b[s], len[s], s + (unsigned)id);
	}
	for (int i = 0; i < N; i++)
		ksmp_heap_free(b[i]);
	return NULL;
}

/* Fork handlers registered before the heap's own, as a crypto library's
 * constructor registers them before the library's: they run while the
 * forking thread holds the heap for the fork (prepare after the heap's,
 * parent and child before its), and allocate from it. */
static void *held;
static void early_prepare(void)
{
	held = ksmp_heap_malloc(100);
}

static void early_parent(void)
{
	ksmp_heap_free(held);
	ksmp_heap_free(ksmp_heap_malloc(3000));
}

static void early_child(void)
{
	ksmp_heap_free(held);
	ksmp_heap_free(ksmp_heap_malloc(3000));
}

static int fork_with_handlers(void)
{
	alarm(20);	/* a deadlock: killed, the plan unfinished */
	pid_t c = fork();
	if (c == 0) {
		void *p = ksmp_heap_malloc(50);
		_exit(p ? 0 : 1);
	}
	int st = -1;
	if (c < 0 || waitpid(c, &st, 0) != c)
		return 0;
	void *p = ksmp_heap_malloc(50);	/* the parent's heap is free again */
	ksmp_heap_free(p);
	alarm(0);
	return p && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(void)
{
	tap_plan(13);
	pthread_atfork(early_prepare, early_parent, early_child);
	ksmp_heap_atfork();
	int x;
	ok(!ksmp_heap_owns(&x) && !ksmp_heap_owns(NULL), "nothing owned before use");

	int good = 1;
	unsigned char *p[64];
	for (int i = 0; i < 64; i++) {
		size_t n = (size_t)1 << (i % 17);
		p[i] = ksmp_heap_malloc(n);
		good &= p[i] && ((uintptr_t)p[i] & 15) == 0 && ksmp_heap_usable(p[i]) >= n;
		if (p[i])
			fill(p[i], n, (unsigned)i);
	}
	for (int i = 0; i < 64; i++) {
		good &= same(p[i], (size_t)1 << (i % 17), (unsigned)i);
		ksmp_heap_free(p[i]);
	}
	ok(good, "1 B - 64 KiB: 16-byte aligned, usable size, data intact");
	unsigned char *a = ksmp_heap_malloc(100);
	ksmp_heap_free(a);
	ok(ksmp_heap_malloc(100) == a, "a freed small block is reused");

	good = 1;
	for (size_t al = 32; al <= 65536; al <<= 1) {
		unsigned char *q = ksmp_heap_memalign(al, 3000);
		good &= q && ((uintptr_t)q & (al - 1)) == 0 && ksmp_heap_usable(q) >= 3000;
		fill(q, 3000, 7);
		unsigned char *r = ksmp_heap_realloc(q, 200000);
		good &= r && same(r, 3000, 7);
		ksmp_heap_free(r);
	}
	ok(good, "memalign 32 B - 64 KiB, then realloc keeps the data");

	unsigned char *l1 = ksmp_heap_malloc(1 << 20), *l2 = ksmp_heap_malloc(1 << 20);
	ok(l1 && l2 && ksmp_heap_usable(l1) >= (1u << 20), "large runs");
	ksmp_heap_free(l1);
	ksmp_heap_free(l2);
	unsigned char *l3 = ksmp_heap_malloc((2 << 20) - 8192);
	ok(l3 == l1 || l3 == l2, "two freed neighbouring runs serve one bigger block");
	fill(l3, (2 << 20) - 8192, 3);
	ok(same(l3, (2 << 20) - 8192, 3), "... which holds its data");
	ksmp_heap_free(l3);

	unsigned char *z = ksmp_heap_calloc(1000, 3);
	good = z != NULL;
	for (int i = 0; z && i < 3000; i++)
		good &= z[i] == 0;
	ok(good, "calloc zeroes");
	ok(ksmp_heap_calloc(SIZE_MAX / 2, 3) == NULL && ksmp_heap_malloc(SIZE_MAX) == NULL,
	   "impossible sizes: NULL");
	ok(ksmp_heap_realloc(z, 0) == NULL, "realloc(p, 0) frees and returns NULL");

	pthread_t t[4];
	for (uintptr_t i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	good = 1;
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		good &= r == NULL;
	}
	ok(good, "4 threads x 40000 allocations: data intact");
	ksmp_heap_reseal();
	ok(ksmp_heap_overlaps((uintptr_t)a, (uintptr_t)a + 1) &&
	   !ksmp_heap_overlaps((uintptr_t)&x, (uintptr_t)&x + 1), "overlaps");
	ok(fork_with_handlers(), "fork: handlers registered before the heap's allocate "
	   "from it in prepare, parent and child");
	return tap_done();
}
