/*
 * heap-check - drives the crypto heap through a shared object named like
 * a crypto library (tests/heap/libcrypto.so.ksmptest, dlopened from the
 * path given), for the tests in tests/heap.
 *
 *   heap-check LIB api [segregated]
 *       the malloc family called from the crypto object and from the
 *       program, blocks crossing over (realloc, free, malloc_usable_size
 *       from the other side), alignment, zeroing, errno and error
 *       results; prints "ok NAME" / "not ok NAME" lines. With
 *       "segregated", also checks that the crypto object's blocks are
 *       neither in [heap] nor in a mapping with the mg flag.
 *   heap-check LIB hold SEED
 *       fills 8 MiB through the crypto object and 8 MiB from the program
 *       with data from SEED, prints "crypto ADDR" and "plain ADDR" lines
 *       (one block of each sort), "ready", and waits to be killed.
 *   heap-check LIB forkload
 *       starts and joins a thread, forks; the child loads the crypto
 *       object only then (the library no longer walks the loader in
 *       such a child, so it cannot name the caller) and mallocs 1 MiB
 *       through it: "ok forkload ..." when the block is neither in
 *       [heap] nor in a mapping with mg, else "not ok forkload ...".
 *   heap-check LIB fork
 *       forks; the child allocates through the crypto object and exits;
 *       the parent too, then prints "fork ok" (with KT_ATFORK=1 the
 *       crypto object's fork handlers allocate around the fork).
 *   heap-check LIB command CMD
 *       a crypto block, then the control command CMD (pagesmerge,
 *       rangemerge) over its mapping, sent by the program to its own
 *       control agent as mergefs would (the state block mapped through
 *       /proc/self/map_files: root): "ok command ..." when the block is
 *       still not exposed, "not ok command ..." when it is, "skip
 *       command ..." without a control agent.
 *   heap-check LIB forkstale PLAIN
 *       starts and joins a thread; loads PLAIN (the same object under a
 *       name no rule knows), allocates through it, unloads it and forks
 *       at once; the child loads LIB, which usually lands where PLAIN
 *       was, and allocates 100 bytes through it: "premise same|moved"
 *       (where it landed), then "ok forkstale ..." when the block is
 *       neither in [heap] nor in a mapping with mg, else "not ok ...".
 *   heap-check LIB stress THREADS SECONDS [nofork]
 *       threads allocate, grow and free blocks on both sides and free
 *       each other's; one thread forks now and then (the child allocates
 *       from the crypto object and exits); every block's contents are
 *       checked before it goes. Prints "stress ok OPS FORKS".
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ksmp_state.h"

static void *(*k_malloc)(size_t);
static void *(*k_calloc)(size_t, size_t);
static void *(*k_realloc)(void *, size_t);
static void *(*k_reallocarray)(void *, size_t, size_t);
static void (*k_free)(void *);
static int (*k_posix_memalign)(void **, size_t, size_t);
static void *(*k_aligned_alloc)(size_t, size_t);
static void *(*k_memalign)(size_t, size_t);
static void *(*k_valloc)(size_t);
static void *(*k_pvalloc)(size_t);
static size_t (*k_usable)(void *);

static int failures;

static void check(int cond, const char *name)
{
	printf("%s %s\n", cond ? "ok" : "not ok", name);
	if (!cond)
		failures++;
}

static void load(const char *path)
{
	void *h = dlopen(path, RTLD_NOW);
	if (!h) {
		fprintf(stderr, "heap-check: %s\n", dlerror());
		exit(2);
	}
#define SYM(v, n) *(void **)&v = dlsym(h, n); if (!v) exit(2)
	SYM(k_malloc, "kt_malloc");
	SYM(k_calloc, "kt_calloc");
	SYM(k_realloc, "kt_realloc");
	SYM(k_reallocarray, "kt_reallocarray");
	SYM(k_free, "kt_free");
	SYM(k_posix_memalign, "kt_posix_memalign");
	SYM(k_aligned_alloc, "kt_aligned_alloc");
	SYM(k_memalign, "kt_memalign");
	SYM(k_valloc, "kt_valloc");
	SYM(k_pvalloc, "kt_pvalloc");
	SYM(k_usable, "kt_usable");
}

/* Mapping of p in /proc/self/smaps: 1 when it is [heap] or has mg. */
static int exposed(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[512];
	int in = 0, bad = 0;
	uintptr_t a = (uintptr_t)p;
	if (!f)
		return 1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		char name[256] = "";
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %255s", &s, &e, name) >= 2) {
			if (in)
				break;
			in = a >= s && a < e;
			if (in && !strcmp(name, "[heap]"))
				bad = 1;
			continue;
		}
		if (in && !strncmp(line, "VmFlags:", 8) && strstr(line, " mg"))
			bad = 1;
	}
	fclose(f);
	return bad;
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed * 131 + i * 7 + (i >> 9));
}

static int same(const unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(seed * 131 + i * 7 + (i >> 9)))
			return 0;
	return 1;
}

static int zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* ------------------------------------------------------------------ api */
static void api_basic(int seg)
{
	errno = 4242;
	unsigned char *p = k_malloc(100);
	check(p && errno == 4242, "crypto malloc succeeds, errno unchanged");
	fill(p, 100, 1);
	check(k_usable(p) >= 100 && malloc_usable_size(p) == k_usable(p),
	      "malloc_usable_size of a crypto block, from either side");
	if (seg)
		check(!exposed(p), "crypto block: not in [heap], no mg");
	unsigned char *q = realloc(p, 100000);	/* the program grows it */
	check(q && same(q, 100, 1), "program's realloc of a crypto block keeps data");
	if (seg)
		check(!exposed(q), "... and it stays in the crypto heap");
	free(q);				/* the program frees it */

	unsigned char *m = malloc(200);
	fill(m, 200, 2);
	errno = 4343;
	unsigned char *r = k_realloc(m, 3000);
	check(r && same(r, 200, 2) && errno == 4343,
	      "crypto realloc of a program block keeps data and errno");
	if (seg)
		check(!exposed(r), "... and moves it into the crypto heap");
	unsigned char *s = k_realloc(r, 20);
	check(s && same(s, 20, 2), "crypto realloc shrinks");
	k_free(s);
	unsigned char *t = malloc(64);
	k_free(t);				/* crypto frees a program block */
	check(1, "crypto free of a program block");
	unsigned char *u = k_realloc(NULL, 50);
	check(u != NULL, "crypto realloc(NULL, n)");
	check(k_realloc(u, 0) == NULL, "crypto realloc(p, 0) frees, returns NULL");
	check(malloc_usable_size(NULL) == 0, "malloc_usable_size(NULL)");
}

static void api_aligned(int seg)
{
	unsigned char *d = k_malloc(8000);
	memset(d, 0xab, 8000);
	k_free(d);
	unsigned char *z = k_calloc(1000, 8);
	check(z && zero(z, 8000), "crypto calloc zeroes a reused block");
	if (seg)
		check(!exposed(z), "crypto calloc block: not exposed");
	k_free(z);
	void *a = NULL;
	errno = 77;
	int r = k_posix_memalign(&a, 64, 1000);
	check(r == 0 && a && ((uintptr_t)a & 63) == 0 && errno == 77,
	      "crypto posix_memalign(64)");
	check(k_usable(a) >= 1000, "usable size of an aligned block");
	fill(a, 1000, 3);
	unsigned char *g = realloc(a, 50000);
	check(g && same(g, 1000, 3), "realloc of an aligned crypto block");
	free(g);
	void *b = (void *)1;
	errno = 78;
	r = k_posix_memalign(&b, 3, 10);
	check(r == EINVAL && b == (void *)1 && errno == 78,
	      "posix_memalign(3): EINVAL, errno unchanged");
	r = k_posix_memalign(&b, 64, SIZE_MAX - 100);
	check(r == ENOMEM, "posix_memalign(huge): ENOMEM");
	unsigned char *x = k_aligned_alloc(4096, 8192);
	check(x && ((uintptr_t)x & 4095) == 0, "crypto aligned_alloc(4096)");
	if (seg)
		check(!exposed(x), "aligned block: not exposed");
	k_free(x);
	x = k_memalign(256, 10);
	check(x && ((uintptr_t)x & 255) == 0, "crypto memalign(256)");
	free(x);
	x = k_valloc(10);
	check(x && ((uintptr_t)x & 4095) == 0, "crypto valloc");
	free(x);
	x = k_pvalloc(10);
	check(x && ((uintptr_t)x & 4095) == 0 && k_usable(x) >= 4096, "crypto pvalloc");
	free(x);
}

static void api_errors(int seg)
{
	errno = 0;
	check(k_malloc(SIZE_MAX) == NULL && errno == ENOMEM, "malloc(SIZE_MAX): ENOMEM");
	errno = 0;
	check(k_calloc(SIZE_MAX / 2, 4) == NULL && errno == ENOMEM,
	      "calloc overflow: ENOMEM");
	unsigned char *p = k_malloc(40);
	fill(p, 40, 4);
	errno = 0;
	check(k_reallocarray(p, SIZE_MAX, 2) == NULL && errno == ENOMEM &&
	      same(p, 40, 4), "reallocarray overflow: ENOMEM, block intact");
	unsigned char *q = k_reallocarray(p, 10, 10);
	check(q && same(q, 40, 4), "crypto reallocarray grows");
	k_free(q);
	unsigned char *big = k_malloc(3 << 20);
	check(big != NULL, "crypto malloc(3 MiB)");
	fill(big, 3 << 20, 5);
	check(same(big, 3 << 20, 5), "3 MiB block holds its data");
	if (seg)
		check(!exposed(big), "3 MiB block: not exposed");
	k_free(big);
	big = k_malloc(2 << 20);
	check(big && k_usable(big) >= (2u << 20), "a freed large run is reused");
	free(big);
	/* many blocks of many sizes, checked after the others were freed */
	enum { N = 4000 };
	static unsigned char *blk[N];
	static size_t len[N];
	int good = 1;
	for (int i = 0; i < N; i++) {
		len[i] = (size_t)(i * 37 % 20000) + 1;
		blk[i] = (i & 1) ? k_malloc(len[i]) : malloc(len[i]);
		if (!blk[i])
			good = 0;
		else
			fill(blk[i], len[i], (unsigned)i);
	}
	for (int i = 0; i < N; i += 3) {
		(i & 2 ? free : k_free)(blk[i]);
		blk[i] = NULL;
	}
	for (int i = 0; i < N; i++)
		if (blk[i] && !same(blk[i], len[i], (unsigned)i))
			good = 0;
	for (int i = 0; i < N; i++)
		(i & 4 ? free : k_free)(blk[i]);
	check(good, "4000 blocks of 1-20000 bytes, both sides, data intact");
}

/* ----------------------------------------------------------------- hold */
static int hold(unsigned seed)
{
	enum { SMALL = 2000, BSZ = 4000 };
	unsigned char *first = NULL, *large = NULL, *pfirst = NULL, *plarge = NULL;
	for (unsigned i = 0; i < SMALL; i++) {
		unsigned char *c = k_malloc(BSZ), *m = malloc(BSZ);
		if (!c || !m)
			return 1;
		fill(c, BSZ, seed * 7919 + i);
		fill(m, BSZ, seed * 104729 + i);
		if (!i) {
			first = c;
			pfirst = m;
		}
	}
	for (unsigned i = 0; i < 2; i++) {
		unsigned char *c = k_malloc(1 << 20), *m = malloc(1 << 20);
		if (!c || !m)
			return 1;
		fill(c, 1 << 20, seed * 31 + i);
		fill(m, 1 << 20, seed * 37 + i);
		if (!i) {
			large = c;
			plarge = m;
		}
	}
	printf("crypto %p\ncrypto %p\nplain %p\nplain %p\nready\n",
	       (void *)first, (void *)large, (void *)pfirst, (void *)plarge);
	fflush(stdout);
	for (;;)
		pause();
}

/* --------------------------------------------------------------- stress */
#define SLOTS 1024
static unsigned char *slots[SLOTS];
static volatile int stop;
static int bad;			/* 1 lost contents, 2 failed allocation, 4 fork */
static long total_ops, forks;
static int forking = 1;

static void stamp(unsigned char *p, size_t n)
{
	memcpy(p, &n, sizeof(n));
	memset(p + sizeof(n), (int)(n & 0xff), n - sizeof(n));
}

static int stamped(const unsigned char *p)
{
	size_t n;
	memcpy(&n, p, sizeof(n));
	if (n < sizeof(n) || n > (1 << 20))
		return 0;
	for (size_t i = sizeof(n); i < n; i++)
		if (p[i] != (unsigned char)(n & 0xff))
			return 0;
	return 1;
}

static unsigned char *make(uint64_t *x, size_t n)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	switch (*x % 6) {
	case 0: return malloc(n);
	case 1: return k_malloc(n);
	case 2: return k_calloc(1, n);
	case 3: return k_memalign(64, n);
	case 4: { void *p = NULL; return k_posix_memalign(&p, 32, n) ? NULL : p; }
	default: return k_realloc(NULL, n);
	}
}

static void fork_once(void)
{
	pid_t c = fork();
	if (c == 0) {
		alarm(10);
		for (int i = 0; i < 100; i++) {
			void *p = k_malloc((size_t)i * 100 + 1);
			if (!p)
				_exit(3);
			k_free(p);
		}
		_exit(0);
	}
	int st = 0;
	if (c < 0 || waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "heap-check: forked child: status 0x%x\n", (unsigned)st);
		__atomic_fetch_or(&bad, 4, __ATOMIC_RELAXED);
	}
	__atomic_fetch_add(&forks, 1, __ATOMIC_RELAXED);
}

static void *stress_thread(void *arg)
{
	uint64_t x = 0x9E3779B97F4A7C15ull * ((uintptr_t)arg + 1);
	long ops = 0;
	while (!stop) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		unsigned s = (unsigned)(x >> 40) % SLOTS;
		size_t n = (x & 0xff) == 0 ? 70000 + (x >> 20) % 200000 :
			   sizeof(size_t) + (x >> 16) % 3000;
		unsigned char *nw;
		unsigned char *old = __atomic_exchange_n(&slots[s], NULL, __ATOMIC_ACQ_REL);
		if (old && !stamped(old))
			__atomic_fetch_or(&bad, 1, __ATOMIC_RELAXED);
		if (old && (x & 0x300) == 0x100) {
			/* grow or shrink the old block, from either side */
			nw = (x & 0x400) ? k_realloc(old, n) : realloc(old, n);
			old = NULL;
		} else {
			nw = make(&x, n);
		}
		if (old)
			((x & 0x800) ? free : k_free)(old);
		if (!nw) {
			__atomic_fetch_or(&bad, 2, __ATOMIC_RELAXED);
			continue;
		}
		stamp(nw, n);
		old = __atomic_exchange_n(&slots[s], nw, __ATOMIC_ACQ_REL);
		if (old)
			free(old);
		ops++;
		if (arg == NULL && forking && ops % 5000 == 0)
			fork_once();
	}
	__atomic_fetch_add(&total_ops, ops, __ATOMIC_RELAXED);
	return NULL;
}

static int stress(int nthreads, int seconds)
{
	pthread_t t[16];
	if (nthreads < 1 || nthreads > 16)
		return 2;
	for (long i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, stress_thread, (void *)i);
	struct timespec ts = { seconds, 0 };
	nanosleep(&ts, NULL);
	stop = 1;
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < SLOTS; i++) {
		if (slots[i] && !stamped(slots[i]))
			bad = 1;
		k_free(slots[i]);
	}
	if (bad) {
		printf("stress failed:%s%s%s\n", bad & 1 ? " a block lost its contents" : "",
		       bad & 2 ? " an allocation failed" : "",
		       bad & 4 ? " a forked child failed" : "");
		return 1;
	}
	printf("stress ok %ld %ld\n", total_ops, forks);
	return 0;
}

static void *idle(void *arg)
{
	return arg;
}

/* plain: an object loaded, used and unloaded just before the fork
 * (forkstale), or NULL (forkload). */
static int forkload(const char *lib, const char *plain)
{
	pthread_t t;
	uintptr_t was = 0;
	if (pthread_create(&t, NULL, idle, NULL) != 0 || pthread_join(t, NULL) != 0)
		return 2;
	if (plain) {
		load(plain);
		was = (uintptr_t)k_malloc;
		free(k_malloc(100));
		void *h = dlopen(plain, RTLD_NOW | RTLD_NOLOAD);
		if (!h || dlclose(h) != 0 || dlclose(h) != 0)	/* load()'s and ours */
			return 2;
	}
	pid_t c = fork();
	if (c < 0)
		return 2;
	if (c == 0) {
		load(lib);
		size_t n = plain ? 100 : 1 << 20;	/* in [heap], or a chunk */
		unsigned char *p = k_malloc(n);
		if (!p)
			_exit(2);
		fill(p, n, 7);
		int out = exposed(p);
		if (plain)
			printf("premise %s\n%s forkstale: a crypto object loaded after the fork "
			       "where another was unloaded before it: its block is not in "
			       "[heap], no mg\n", (uintptr_t)k_malloc == was ? "same" : "moved",
			       out ? "not ok" : "ok");
		else
			printf("%s forkload: a crypto object loaded after the fork: its block is "
			       "not in [heap], no mg\n", out ? "not ok" : "ok");
		fflush(stdout);
		_exit(out);
	}
	int st;
	if (waitpid(c, &st, 0) != c || !WIFEXITED(st))
		return 2;
	return WEXITSTATUS(st);
}

static int fork_plain(void)
{
	pid_t c = fork();
	if (c < 0)
		return 2;
	if (c == 0) {
		void *p = k_malloc(50);
		k_free(p);
		_exit(p ? 0 : 1);
	}
	int st;
	if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st))
		return 1;
	void *p = k_malloc(50);
	k_free(p);
	if (!p)
		return 1;
	printf("fork ok\n");
	return 0;
}

/* The mapping of /proc/self/maps holding a (or, with a NULL a, named
 * like name): [*lo, *hi). */
static int mapping_of(uintptr_t a, const char *name, unsigned long *lo, unsigned long *hi)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	int found = 0;
	while (f && !found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx", lo, hi) != 2)
			continue;
		found = name ? strstr(line, name) != NULL : a >= *lo && a < *hi;
	}
	if (f)
		fclose(f);
	return found;
}

/* One control command to our own agent, through the real protocol. */
static int self_command(const char *what, uint64_t addr, uint64_t len)
{
	unsigned long lo, hi;
	char path[80];
	if (!mapping_of(0, "/memfd:" KSMP_STATE_MEMFD_NAME, &lo, &hi))
		return -1;
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", lo, hi);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct ksmp_state *st = mmap(NULL, hi - lo, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (st == MAP_FAILED || !st->signo)
		return -1;
	struct ksmp_ctl *c = &st->ctl;
	uint32_t req = c->ack_seq + 1;
	c->cmd = !strcmp(what, "pagesmerge") ? KSMP_CMD_PAGES_MERGE : KSMP_CMD_RANGE_MERGE;
	c->addr = addr;
	c->len = len;
	__atomic_store_n(&c->req_seq, req, __ATOMIC_RELEASE);
	union sigval v = { .sival_int = (int)req };
	if (sigqueue(getpid(), st->signo, v) != 0 ||
	    __atomic_load_n(&c->ack_seq, __ATOMIC_ACQUIRE) != req)
		return -1;
	return c->result;
}

static int command(const char *what)
{
	unsigned char *p = k_malloc(100);
	unsigned long lo, hi;
	if (!p || exposed(p) || !mapping_of((uintptr_t)p, NULL, &lo, &hi))
		return 2;
	int r = self_command(what, lo, hi - lo);
	if (r < 0) {
		printf("skip command %s: no control agent to take it (%d)\n", what, r);
		return 0;
	}
	int out = exposed(p);
	printf("%s command %s over the crypto block's mapping: the block is not "
	       "exposed\n", out ? "not ok" : "ok", what);
	return out;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: heap-check LIB api|hold|stress ...\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[2], "forkload"))
		return forkload(argv[1], NULL);
	if (!strcmp(argv[2], "forkstale") && argc == 4)
		return forkload(argv[1], argv[3]);
	load(argv[1]);
	if (!strcmp(argv[2], "api")) {
		int seg = argc > 3 && !strcmp(argv[3], "segregated");
		api_basic(seg);
		api_aligned(seg);
		api_errors(seg);
		return failures != 0;
	}
	if (!strcmp(argv[2], "command") && argc == 4)
		return command(argv[3]);
	if (!strcmp(argv[2], "fork"))
		return fork_plain();
	if (!strcmp(argv[2], "hold") && argc == 4)
		return hold((unsigned)atoi(argv[3]));
	if (!strcmp(argv[2], "stress") && (argc == 5 || argc == 6)) {
		forking = argc == 5 || strcmp(argv[5], "nofork");
		return stress(atoi(argv[3]), atoi(argv[4]));
	}
	return 2;
}
