/*
 * profile_hold.c - a workload for ksmpreload profile tests: identical,
 * seeded data in a big anonymous mmap made by a static function (to check
 * that static functions resolve), per-process random data in another mmap
 * (nothing to merge: an unproductive origin), then it waits to be killed.
 *
 *   profile_hold SEED MIB
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static void fill(unsigned char *p, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	for (size_t i = 0; i + 8 <= len; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(p + i, &x, 8);
	}
}

__attribute__((noinline)) static void *profile_shared_data(size_t len, uint64_t seed)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	fill(p, len, seed);
	return p;
}

__attribute__((noinline)) static void *profile_private_noise(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	fill(p, len, (uint64_t)getpid() * 1000003u ^ (uint64_t)ts.tv_nsec);
	return p;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: profile_hold SEED MIB\n");
		return 2;
	}
	uint64_t seed = strtoull(argv[1], NULL, 10);
	size_t len = strtoull(argv[2], NULL, 10) << 20;
	void *a = profile_shared_data(len, seed);
	void *b = profile_private_noise(len / 2);
	if (!a || !b) {
		perror("mmap");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
