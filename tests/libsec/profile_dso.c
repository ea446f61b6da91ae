/*
 * profile_dso - a workload for `ksmpreload profile` whose memory comes from
 * a shared object of the caller's choosing, under any file name (issue 10,
 * item 5: a DSO named "x\nmerge any\n#.so").
 *
 *   profile_dso DSO SEED MIB
 *
 * dlopens DSO (a copy of tests/progs/libksmpcaller.so), has its
 * ksmp_caller_mmap map MIB MiB, fills them with data that depends only on
 * SEED, prints "ready" and waits to be killed.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: profile_dso DSO SEED MIB\n");
		return 2;
	}
	void *h = dlopen(argv[1], RTLD_NOW);
	void *(*fn)(size_t) = h ? (void *(*)(size_t))dlsym(h, "ksmp_caller_mmap") : NULL;
	if (!fn) {
		fprintf(stderr, "profile_dso: %s\n", dlerror());
		return 1;
	}
	uint64_t x = strtoull(argv[2], NULL, 0) * 0x9e3779b97f4a7c15ull + 1;
	size_t len = strtoull(argv[3], NULL, 0) << 20;
	unsigned char *p = fn(len);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (size_t i = 0; i + 8 <= len; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(p + i, &x, 8);
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
