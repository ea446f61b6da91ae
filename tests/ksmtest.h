/*
 * ksmtest.h - helpers for tests that use the real kernel KSM (header-only).
 *
 *   ksmt_need()            skip (or fail under KSMP_TEST_REQUIRE=1) without
 *                          root or KSM; re-exec under tests/ksm-hold so
 *                          ksmd runs fast and the knobs are restored
 *   ksmt_stat(pid, key)    a field of /proc/PID/ksm_stat, -1 if absent
 *   ksmt_full_scans()      /sys/kernel/mm/ksm/full_scans
 *   ksmt_wait_scans(n)     wait until full_scans advanced by n (timeout)
 *   ksmt_wait_plateau(pids, n, timeout_s)  poll the sum of per-process
 *                          ksm_merging_pages until it stops growing
 *   ksmt_fill(buf, len, seed)  fill with a per-test pattern (every page
 *                          distinct within the buffer, same for equal seeds)
 */
#ifndef KSMP_KSMTEST_H
#define KSMP_KSMTEST_H

#include "tap.h"
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* Read a small file (one read) into buf, NUL-terminated; bytes read, or
 * -1 when it cannot be opened or is empty. */
static inline ssize_t ksmt_read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return n;
}

static inline long ksmt_read_long(const char *path)
{
	char buf[64];
	if (ksmt_read_small(path, buf, sizeof(buf)) < 0)
		return -1;
	return strtol(buf, NULL, 10);
}

static inline void ksmt_need(char **argv)
{
	if (geteuid() != 0)
		tap_skip_all_env("needs root (KSM knobs and /proc/PID/ksm_stat)");
	if (access("/sys/kernel/mm/ksm/run", W_OK) != 0)
		tap_skip_all_env("KSM not available (/sys/kernel/mm/ksm/run not writable)");
	if (access("/proc/self/ksm_stat", R_OK) != 0)
		tap_skip_all_env("kernel has no /proc/PID/ksm_stat");
	const char *held = getenv("KSMP_KSM_HELD");
	if (!held || strcmp(held, "1") != 0) {
		char hold[4096];
		const char *bd = getenv("KSMP_BUILDDIR");
		snprintf(hold, sizeof(hold), "%s/tests/ksm-hold", bd ? bd : ".");
		int n = 0;
		while (argv[n])
			n++;
		char **nargv = calloc((size_t)n + 3, sizeof(*nargv));
		if (!nargv)
			tap_bail("out of memory");
		nargv[0] = hold;
		nargv[1] = (char *)"--";
		for (int i = 0; i < n; i++)
			nargv[i + 2] = argv[i];
		fflush(stdout);
		execv(hold, nargv);
		tap_bail("cannot exec tests/ksm-hold (set KSMP_BUILDDIR)");
	}
}

static inline long ksmt_stat(pid_t pid, const char *key)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/ksm_stat", (int)pid);
	if (ksmt_read_small(path, buf, sizeof(buf)) < 0)
		return -1;
	size_t kl = strlen(key);
	for (char *p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, key, kl) == 0 && p[kl] == ' ')
			return strtol(p + kl + 1, NULL, 10);
	}
	return -1;
}

static inline long ksmt_full_scans(void)
{
	return ksmt_read_long("/sys/kernel/mm/ksm/full_scans");
}

static inline double ksmt_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline int ksmt_wait_scans(long n, double timeout_s)
{
	long start = ksmt_full_scans();
	double t0 = ksmt_now();
	while (ksmt_full_scans() < start + n) {
		if (ksmt_now() - t0 > timeout_s)
			return -ETIMEDOUT;
		usleep(10000);
	}
	return 0;
}

/* Sum of ksm_merging_pages over pids, once it stops growing for two full
 * scans (or at timeout). */
static inline long ksmt_wait_plateau(const pid_t *pids, int n, double timeout_s)
{
	double t0 = ksmt_now();
	long last = -1;
	int stable = 0;
	ksmt_wait_scans(2, timeout_s);
	for (;;) {
		long sum = 0;
		for (int i = 0; i < n; i++) {
			long v = ksmt_stat(pids[i], "ksm_merging_pages");
			if (v > 0)
				sum += v;
		}
		if (sum == last && sum > 0) {
			if (++stable >= 2)
				return sum;
		} else {
			stable = 0;
		}
		last = sum;
		if (ksmt_now() - t0 > timeout_s)
			return sum;
		ksmt_wait_scans(1, 5.0);
	}
}

static inline void ksmt_fill(void *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
	uint64_t *w = buf;
	for (size_t i = 0; i < len / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		w[i] = x;
	}
}

#endif
