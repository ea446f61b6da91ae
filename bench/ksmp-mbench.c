/*
 * ksmp-mbench - micro-benchmarks run with and without libksmpreload.so.
 *
 *   ksmp-mbench malloc THREADS ITERS   random malloc/free of 16 B - 64 KiB
 *                                      (256 live slots per thread); prints
 *                                      "ns_per_op X"
 *   ksmp-mbench mmap ITERS             mmap+munmap of 64 KiB; "ns_per_op X"
 *   ksmp-mbench vmas N                 N x (malloc(40 KiB) + malloc(8 KiB)),
 *                                      never freed, then a 64 KiB mmap;
 *                                      prints "maps LINES mmap_ok 0|1"
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long iters;

static void *malloc_loop(void *arg)
{
	uint64_t x = 0x9E3779B97F4A7C15ull ^ (uintptr_t)arg;
	void *slot[256] = { 0 };
	for (long i = 0; i < iters; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		unsigned s = (unsigned)(x >> 56);
		size_t n = 16 + (size_t)((x >> 8) % (64 * 1024 - 16 + 1));
		free(slot[s]);
		slot[s] = malloc(n);
		if (slot[s])
			*(volatile char *)slot[s] = 1;
	}
	for (int i = 0; i < 256; i++)
		free(slot[i]);
	return NULL;
}

static int bench_malloc(int nthreads)
{
	pthread_t t[64];
	if (nthreads < 1 || nthreads > 64)
		return 2;
	double t0 = now();
	for (int i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, malloc_loop, (void *)(uintptr_t)(i + 1));
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	printf("ns_per_op %.2f\n", (now() - t0) * 1e9 / (double)iters);
	return 0;
}

static int bench_mmap(void)
{
	double t0 = now();
	for (long i = 0; i < iters; i++) {
		char *p = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return 1;
		munmap(p, 65536);
	}
	printf("ns_per_op %.2f\n", (now() - t0) * 1e9 / (double)iters);
	return 0;
}

static int bench_vmas(long n)
{
	for (long i = 0; i < n; i++) {
		if (!malloc(40 * 1024) || !malloc(8 * 1024)) {
			printf("maps -1 malloc_failed_at %ld\n", i);
			return 1;
		}
	}
	void *m = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	long lines = 0;
	while (f && fgets(line, sizeof(line), f))
		lines++;
	if (f)
		fclose(f);
	printf("maps %ld mmap_ok %d\n", lines, m != MAP_FAILED);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "malloc")) {
		iters = atol(argv[3]);
		return bench_malloc(atoi(argv[2]));
	}
	if (argc == 3 && !strcmp(argv[1], "mmap")) {
		iters = atol(argv[2]);
		return bench_mmap();
	}
	if (argc == 3 && !strcmp(argv[1], "vmas"))
		return bench_vmas(atol(argv[2]));
	fprintf(stderr, "usage: ksmp-mbench malloc THREADS ITERS | mmap ITERS | vmas N\n");
	return 2;
}
