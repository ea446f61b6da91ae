/*
 * ksmp-layout - hold 8 MiB of anonymous memory with a known layout of
 * duplicate pages, for the bench/real/ksmp-pagestat test.
 *
 *   ksmp-layout [-f] [-n] ADDR SEED
 *
 * Maps 4 x 2 MiB at ADDR (hex, 2 MiB aligned, MAP_FIXED_NOREPLACE; no
 * transparent huge pages) and fills it:
 *   chunk 0  512 pages equal in every instance with the same SEED
 *   chunk 1  256 such pages, then 256 pages unique to this process
 *   chunks 2, 3  pages unique to this process
 * Every page differs from every other page of the same process. The range
 * is made MADV_MERGEABLE unless -n. With -f, the process forks after
 * filling: the child shares every page with it (not KSM). Prints
 * "ready PID [CHILD]" and waits for SIGTERM.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PG 4096
#define CHUNK (2u << 20)

static void fill(void *buf, uint64_t seed)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull, *w = buf;
	for (size_t i = 0; i < PG / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		w[i] = x;
	}
}

int main(int argc, char **argv)
{
	int forkit = 0, merge = 1, opt;
	while ((opt = getopt(argc, argv, "fn")) != -1) {
		if (opt == 'f')
			forkit = 1;
		else if (opt == 'n')
			merge = 0;
		else
			return 2;
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: ksmp-layout [-f] [-n] ADDR SEED\n");
		return 2;
	}
	uintptr_t addr = (uintptr_t)strtoull(argv[optind], NULL, 16);
	uint64_t seed = strtoull(argv[optind + 1], NULL, 10);
	char *p = mmap((void *)addr, 4 * CHUNK, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED || (uintptr_t)p != addr) {
		perror("ksmp-layout: mmap");
		return 1;
	}
	madvise(p, 4 * CHUNK, MADV_NOHUGEPAGE);
	uint64_t own = ((uint64_t)getpid() << 32) ^ (seed << 12);
	for (size_t i = 0; i < 4 * CHUNK / PG; i++)
		fill(p + i * PG, i < 768 ? seed * 4096 + i : own + i);
	if (merge && madvise(p, 4 * CHUNK, MADV_MERGEABLE) != 0) {
		perror("ksmp-layout: MADV_MERGEABLE");
		return 1;
	}
	pid_t child = 0;
	if (forkit) {
		child = fork();
		if (child < 0)
			return 1;
		if (child == 0) {
			pause();
			_exit(0);
		}
		printf("ready %d %d\n", (int)getpid(), (int)child);
	} else {
		printf("ready %d\n", (int)getpid());
	}
	fflush(stdout);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sig;
	sigwait(&set, &sig);
	if (child > 0)
		kill(child, SIGKILL);
	return 0;
}
