/*
 * ksmp-pmscan - what mergefs's mode auto controller pays to count a
 * record's present and shared pages (mergefs/auto_survey.c), two ways,
 * side by side in each round: reading every pagemap entry of the record
 * (8 bytes a page, 2 MiB of pages per read), or finding its present runs
 * with the PAGEMAP_SCAN ioctl (Linux 6.7; 64 MiB per call) and reading the
 * entries of those only. Shapes: a JVM-like reservation (4 GiB, 16 runs
 * of 4 MiB present), 1 GiB with every other 2 MiB present, 256 MiB all
 * present, 2 MiB all present (one arena). Prints the CPU time of each
 * (median of 15 rounds) and the median of the per-round ratios. The
 * controller scans only records where a chunk had no present page at its
 * last look. Needs no root and no KSM.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "ksmp_pagemap.h"

#define ROUNDS 15

static int fd;

static double cpu_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Present pages of [a, a+len), every entry read. */
static size_t read_all(uint64_t a, uint64_t len)
{
	static uint64_t e[512];
	size_t n = 0;
	for (uint64_t off = 0; off < len; off += 2u << 20) {
		uint64_t l = len - off > (2u << 20) ? (2u << 20) : len - off;
		ssize_t r = pread(fd, e, l / 4096 * 8, (off_t)((a + off) / 4096 * 8));
		for (ssize_t i = 0; i < r / 8; i++)
			n += !!(e[i] & PM_PRESENT);
	}
	return n;
}

/* The same, entries read in the present runs only. */
static size_t read_runs(uint64_t s, uint64_t end)
{
	static struct ksmp_page_region rg[4096];
	size_t n = 0;
	while (s < end) {
		struct ksmp_pm_scan_arg arg = {
			.size = sizeof(arg), .start = s,
			.end = end - s > (64ull << 20) ? s + (64ull << 20) : end,
			.vec = (uint64_t)(uintptr_t)rg, .vec_len = 4096,
			.category_mask = KSMP_PAGE_IS_PRESENT,
			.return_mask = KSMP_PAGE_IS_PRESENT,
		};
		int k = ioctl(fd, KSMP_PAGEMAP_SCAN, &arg);
		if (k < 0 || arg.walk_end <= s)
			return (size_t)-1;
		for (int i = 0; i < k; i++)
			n += read_all(rg[i].start, rg[i].end - rg[i].start);
		s = arg.walk_end;
	}
	return n;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(void)
{
	static const struct {
		const char *name;
		size_t mib, every, run;	/* pages: a run of run present in each every */
	} shape[] = {
		{ "4 GiB reserved, 16 x 4 MiB present", 4096, 65536, 1024 },
		{ "1 GiB, every other 2 MiB present", 1024, 1024, 512 },
		{ "256 MiB, all present", 256, 1, 1 },
		{ "2 MiB, all present", 2, 1, 1 },
	};
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror("ksmp-pmscan: /proc/self/pagemap");
		return 1;
	}
	for (size_t k = 0; k < sizeof(shape) / sizeof(*shape); k++) {
		size_t len = shape[k].mib << 20, pages = len / 4096;
		char *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (m == MAP_FAILED) {
			perror("ksmp-pmscan: mmap");
			return 1;
		}
		for (size_t i = 0; i < pages; i += shape[k].every)
			for (size_t j = 0; j < shape[k].run && i + j < pages; j++)
				m[(i + j) * 4096] = 1;
		double a[ROUNDS], b[ROUNDS], r[ROUNDS];
		size_t na = 0, nb = 0;
		for (int i = 0; i < ROUNDS; i++) {
			double t0 = cpu_s();
			na = read_all((uintptr_t)m, len);
			double t1 = cpu_s();
			nb = read_runs((uintptr_t)m, (uintptr_t)m + len);
			double t2 = cpu_s();
			a[i] = t1 - t0;
			b[i] = t2 - t1;
			r[i] = b[i] / a[i];
		}
		if (nb == (size_t)-1) {
			printf("ksmp-pmscan: no PAGEMAP_SCAN here (%s)\n", strerror(errno));
			return 0;
		}
		if (na != nb) {
			printf("ksmp-pmscan: %s: counts differ (%zu, %zu)\n", shape[k].name, na, nb);
			return 1;
		}
		qsort(a, ROUNDS, sizeof(*a), by_value);
		qsort(b, ROUNDS, sizeof(*b), by_value);
		qsort(r, ROUNDS, sizeof(*r), by_value);
		printf("%-36s %7zu present: read all %8.3f ms, runs %8.3f ms, ratio %.3f\n",
		       shape[k].name, na, a[ROUNDS / 2] * 1e3, b[ROUNDS / 2] * 1e3, r[ROUNDS / 2]);
		munmap(m, len);
	}
	return 0;
}
