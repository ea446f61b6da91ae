/*
 * ksmp-alloc - hold seeded data in memory obtained in a chosen way, for the
 * end-to-end tests and benchmarks of libksmpreload.so.
 *
 *   ksmp-alloc [-s SEED] [-x] [-t] SPEC...
 *
 * Each SPEC is KIND:SIZE (SIZE in bytes with an optional K/M suffix):
 *   malloc   one malloc(SIZE)                   (>= 128K: a malloc chunk)
 *   calloc   one calloc(SIZE, 1)
 *   small    mallocs of 4-64 KiB until SIZE     (the main heap)
 *   threads  4 threads, each mallocs 4-64 KiB until SIZE/4 (arenas)
 *   tbig     4 threads, each one malloc(SIZE/4) (chunks from threads)
 *   mmap     mmap(SIZE) anonymous private
 *   mmap64   mmap64(SIZE) anonymous private
 *   file     private writable mapping of a SIZE temporary file, written
 *   stack    a thread with a SIZE + 1 MiB stack that fills SIZE of it
 *   lib      mmap(SIZE) made inside libksmpcaller.so (dlopened)
 *   remap    mmap(SIZE/2), then mremap to SIZE (MREMAP_MAYMOVE)
 *   reallocfail  malloc(SIZE) (a malloc chunk), then realloc and
 *            reallocarray of it to 1 PiB, which must fail with ENOMEM and
 *            leave it as it was
 *   dontunmap  mmap(SIZE), filled, moved by mremap with MREMAP_DONTUNMAP
 *            (the old range stays mapped, empty), then the old range
 *            filled again: two addresses, the new range's and the old's
 *   remapmany  a range of SIZE reserved with syscall(SYS_mmap) (no record),
 *            replaced by 20 mmaps (MAP_FIXED) of SIZE/30 and SIZE/15 in
 *            turn (one VMA; under a policy whose rules tell the two sizes
 *            apart, 20 records), filled, moved together by one mremap
 *            (MREMAP_FIXED, onto a second such reservation): two
 *            addresses, in the first and the last part where it went
 *   sbrk     sbrk(SIZE): the program's own brk memory
 *   walled   a small mapping put right above the program break, then
 *            mallocs of 4-64 KiB until SIZE: brk cannot grow, so glibc
 *            maps the main arena's next pieces itself (as when node's V8
 *            code range lands above the break)
 * Spec number i is filled with the pattern of seed SEED * 64 + i: equal
 * seeds give equal pages, every page distinct within one process.
 *
 * Prints "region I KIND ADDR LEN" per spec (ADDR: an address inside the
 * data, for smaps look-ups), then "ready", then waits until killed
 * (with -x: exits 0 instead). -t prints the elapsed fill time in ms.
 * Nothing else is printed, so that output with and without the library
 * can be compared.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "ksmtest.h"

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#define NTHREADS 4
#define MAX_SPECS 16

struct spec {
	const char *kind;
	size_t size;
	uint64_t seed;
	void *addr[NTHREADS];	/* representative address(es) */
	int naddr;
};

static struct spec specs[MAX_SPECS];
static int nspecs;
static volatile int threads_ready;
static pthread_mutex_t ready_lock = PTHREAD_MUTEX_INITIALIZER;

static void die(const char *what)
{
	fprintf(stderr, "ksmp-alloc: %s: %s\n", what, strerror(errno));
	exit(2);
}

static size_t parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end == 'K' || *end == 'k')
		v <<= 10;
	else if (*end == 'M' || *end == 'm')
		v <<= 20;
	else if (*end == 'G' || *end == 'g')
		v <<= 30;
	return (size_t)v;
}

/* Deterministic sizes 4-64 KiB, the same sequence for the same seed. */
static size_t next_small(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return 4096 + (size_t)(*x % (60 * 1024 + 1));
}

/* Fill SIZE bytes in small mallocs; returns an address in the middle. */
static void *fill_small(size_t size, uint64_t seed)
{
	uint64_t x = seed * 2654435761u + 1;
	size_t done = 0;
	void *mid = NULL;
	for (unsigned i = 0; done < size; i++) {
		size_t n = next_small(&x);
		char *p = malloc(n);
		if (!p)
			die("malloc");
		ksmt_fill(p, n, seed * 100003 + i);
		done += n;
		if (!mid && done >= size / 2)
			mid = p;
	}
	return mid;
}

/* Map 16 KiB (PROT_NONE, under any size rule) right above the break,
 * where brk would grow. */
static void wall_brk(void)
{
	long ps = sysconf(_SC_PAGESIZE);
	uintptr_t b = ((uintptr_t)sbrk(0) + (uintptr_t)ps - 1) & ~((uintptr_t)ps - 1);
	void *w = mmap((void *)(b + (uintptr_t)ps), 16384, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (w == MAP_FAILED || (uintptr_t)w != b + (uintptr_t)ps)
		die("mmap above the break");
}

struct tjob {
	struct spec *sp;
	int idx;
	int big;
};

static void mark_ready(void)
{
	pthread_mutex_lock(&ready_lock);
	threads_ready++;
	pthread_mutex_unlock(&ready_lock);
}

static void *thread_fill(void *arg)
{
	struct tjob *j = arg;
	size_t part = j->sp->size / NTHREADS;
	uint64_t seed = j->sp->seed * 8 + (uint64_t)j->idx;
	if (j->big) {
		char *p = malloc(part);
		if (!p)
			die("malloc");
		ksmt_fill(p, part, seed);
		j->sp->addr[j->idx] = p + part / 2;
	} else {
		j->sp->addr[j->idx] = fill_small(part, seed);
	}
	mark_ready();
	for (;;)
		pause();
	return NULL;
}

static void *thread_stack(void *arg)
{
	struct tjob *j = arg;
	size_t n = j->sp->size;
	char *p = __builtin_alloca(n);
	ksmt_fill(p, n, j->sp->seed);
	j->sp->addr[0] = p + n / 2;
	__asm__ volatile("" : : "r"(p) : "memory");
	mark_ready();
	for (;;)
		pause();
	return NULL;
}

static int start_threads(struct spec *sp, void *(*fn)(void *), int n, int big,
			 size_t stack)
{
	static struct tjob jobs[MAX_SPECS * NTHREADS];
	static int njobs;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	if (stack)
		pthread_attr_setstacksize(&attr, stack);
	for (int i = 0; i < n; i++) {
		struct tjob *j = &jobs[njobs++];
		pthread_t t;
		j->sp = sp;
		j->idx = i;
		j->big = big;
		errno = pthread_create(&t, &attr, fn, j);
		if (errno)
			die("pthread_create");
	}
	pthread_attr_destroy(&attr);
	sp->naddr = n;
	return n;
}

static void *map_file(size_t size)
{
	char path[] = "/tmp/ksmp-alloc-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		die("mkstemp");
	unlink(path);
	if (ftruncate(fd, (off_t)size) != 0)
		die("ftruncate");
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		die("mmap file");
	close(fd);
	return p;
}

static void *lib_mmap(size_t size)
{
	char path[4096];
	const char *bd = getenv("KSMP_BUILDDIR");
	snprintf(path, sizeof(path), "%s/tests/progs/libksmpcaller.so", bd ? bd : ".");
	void *h = dlopen(path, RTLD_NOW);
	if (!h) {
		fprintf(stderr, "ksmp-alloc: %s\n", dlerror());
		exit(2);
	}
	void *(*fn)(size_t) = (void *(*)(size_t))dlsym(h, "ksmp_caller_mmap");
	if (!fn) {
		fprintf(stderr, "ksmp-alloc: no ksmp_caller_mmap\n");
		exit(2);
	}
	void *p = fn(size);
	if (p == MAP_FAILED)
		die("caller mmap");
	return p;
}

int main(int argc, char **argv)
{
	uint64_t seed = 1;
	int do_exit = 0, timing = 0, opt;
	int nthreads = 0;
	while ((opt = getopt(argc, argv, "s:xt")) != -1) {
		switch (opt) {
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'x': do_exit = 1; break;
		case 't': timing = 1; break;
		default:
			fprintf(stderr, "usage: ksmp-alloc [-s SEED] [-x] [-t] KIND:SIZE...\n");
			return 2;
		}
	}
	double t0 = ksmt_now();
	for (int i = optind; i < argc && nspecs < MAX_SPECS; i++) {
		struct spec *sp = &specs[nspecs];
		char *colon = strchr(argv[i], ':');
		if (!colon) {
			fprintf(stderr, "ksmp-alloc: bad spec %s\n", argv[i]);
			return 2;
		}
		*colon = 0;
		sp->kind = argv[i];
		sp->size = parse_size(colon + 1);
		sp->seed = seed * 64 + (uint64_t)nspecs;
		sp->naddr = 1;
		const char *k = sp->kind;
		char *p = NULL;
		if (!strcmp(k, "malloc") || !strcmp(k, "calloc")) {
			p = k[0] == 'm' ? malloc(sp->size) : calloc(sp->size, 1);
			if (!p)
				die(k);
			ksmt_fill(p, sp->size, sp->seed);
			sp->addr[0] = p + sp->size / 2;
		} else if (!strcmp(k, "small")) {
			sp->addr[0] = fill_small(sp->size, sp->seed);
		} else if (!strcmp(k, "walled")) {
			wall_brk();
			sp->addr[0] = fill_small(sp->size, sp->seed);
		} else if (!strcmp(k, "threads") || !strcmp(k, "tbig")) {
			nthreads += start_threads(sp, thread_fill, NTHREADS, k[0] == 't' && k[1] == 'b', 0);
		} else if (!strcmp(k, "remap")) {
			p = mmap(NULL, sp->size / 2, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED)
				die("mmap");
			memset(p, 1, sp->size / 2);
			p = mremap(p, sp->size / 2, sp->size, MREMAP_MAYMOVE);
			if (p == MAP_FAILED)
				die("mremap");
			ksmt_fill(p, sp->size, sp->seed);
			sp->addr[0] = p + sp->size / 2;
		} else if (!strcmp(k, "reallocfail")) {
			p = malloc(sp->size);
			if (!p)
				die(k);
			ksmt_fill(p, sp->size, sp->seed);
			errno = 0;
			if (realloc(p, (size_t)1 << 50) || errno != ENOMEM)
				die("realloc to 1 PiB did not fail with ENOMEM");
			errno = 0;
			if (reallocarray(p, (size_t)1 << 25, (size_t)1 << 25) || errno != ENOMEM)
				die("reallocarray to 1 PiB did not fail with ENOMEM");
			ksmt_fill(p, sp->size, sp->seed);
			sp->addr[0] = p + sp->size / 2;
		} else if (!strcmp(k, "dontunmap")) {
			p = mmap(NULL, sp->size, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED)
				die("mmap");
			ksmt_fill(p, sp->size, sp->seed);
			char *q = mremap(p, sp->size, sp->size,
					 MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
			if (q == MAP_FAILED)
				die("mremap");
			ksmt_fill(p, sp->size, sp->seed);
			sp->addr[0] = q + sp->size / 2;
			sp->addr[1] = p + sp->size / 2;
			sp->naddr = 2;
		} else if (!strcmp(k, "remapmany")) {
			size_t part = sp->size / 30 & ~(size_t)4095, all = part * 30, off = 0;
			p = (char *)syscall(SYS_mmap, NULL, all, PROT_NONE,
					    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			char *to = (char *)syscall(SYS_mmap, NULL, all, PROT_NONE,
						   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED || to == MAP_FAILED)
				die("mmap");
			for (int j = 0; j < 20; off += part * (size_t)(1 + (j & 1)), j++)
				if (mmap(p + off, part * (size_t)(1 + (j & 1)),
					 PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
					die("mmap");
			ksmt_fill(p, all, sp->seed);
			char *q = mremap(p, all, all, MREMAP_MAYMOVE | MREMAP_FIXED, to);
			if (q == MAP_FAILED)
				die("mremap");
			sp->addr[0] = q + part / 2;
			sp->addr[1] = q + all - part / 2;
			sp->naddr = 2;
		} else if (!strcmp(k, "sbrk")) {
			p = sbrk((intptr_t)sp->size);
			if (p == (void *)-1)
				die("sbrk");
			ksmt_fill(p, sp->size, sp->seed);
			sp->addr[0] = p + sp->size / 2;
		} else if (!strcmp(k, "stack")) {
			nthreads += start_threads(sp, thread_stack, 1, 0, sp->size + (1 << 20));
		} else if (!strcmp(k, "mmap") || !strcmp(k, "mmap64") || !strcmp(k, "file") ||
			   !strcmp(k, "lib")) {
			if (!strcmp(k, "mmap"))
				p = mmap(NULL, sp->size, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			else if (!strcmp(k, "mmap64"))
				p = mmap64(NULL, sp->size, PROT_READ | PROT_WRITE,
					   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			else if (!strcmp(k, "file"))
				p = map_file(sp->size);
			else
				p = lib_mmap(sp->size);
			if (p == MAP_FAILED)
				die(k);
			ksmt_fill(p, sp->size, sp->seed);
			sp->addr[0] = p + sp->size / 2;
		} else {
			fprintf(stderr, "ksmp-alloc: unknown kind %s\n", k);
			return 2;
		}
		nspecs++;
	}
	for (;;) {
		pthread_mutex_lock(&ready_lock);
		int r = threads_ready;
		pthread_mutex_unlock(&ready_lock);
		if (r >= nthreads)
			break;
		usleep(1000);
	}
	for (int i = 0; i < nspecs; i++)
		for (int j = 0; j < specs[i].naddr; j++)
			printf("region %d %s %p %zu\n", i, specs[i].kind,
			       specs[i].addr[j], specs[i].size);
	if (timing)
		printf("fill_ms %.1f\n", (ksmt_now() - t0) * 1000.0);
	printf("ready\n");
	fflush(stdout);
	if (do_exit)
		return 0;
	for (;;)
		pause();
}
