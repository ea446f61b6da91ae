/*
 * ksmp-watch - follow KSM merging of a set of processes until it
 * plateaus, for the benchmarks.
 *
 *   ksmp-watch TIMEOUT_S PID...
 *
 * Polls every 10 ms the sum of /proc/PID/ksm_merging_pages and ksmd's CPU
 * time (utime+stime of the ksmd kernel thread). The plateau is reached
 * when the sum has not changed for 3 full scans (or nothing merged after
 * 4 full scans). Prints one line:
 *   sum S max M rmap R t99 SECONDS ksmd_ticks K hz HZ scans N
 * S: sum of ksm_merging_pages at the plateau; M: the largest single
 * process's share (one copy); R: sum of ksm_rmap_items (pages KSM scans);
 * t99: seconds from start until the sum first reached 99% of S;
 * K: ksmd CPU ticks (utime+stime of /proc/PID/stat) spent from start
 * until then; ksmd_ms: the same from /proc/PID/schedstat, in ms.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ksmtest.h"

#define MAXS 200000

static char statpath[64];

static long ksmd_ticks(void)
{
	char *path = statpath;
	char buf[1024];
	if (!path[0]) {
		DIR *d = opendir("/proc");
		struct dirent *de;
		while (d && (de = readdir(d))) {
			char p[300];
			if (de->d_name[0] < '0' || de->d_name[0] > '9')
				continue;
			snprintf(p, sizeof(p), "/proc/%s/comm", de->d_name);
			if (ksmt_read_small(p, buf, sizeof(buf)) == 5 &&
			    !memcmp(buf, "ksmd\n", 5)) {
				snprintf(path, sizeof(statpath), "/proc/%.20s/stat", de->d_name);
				break;
			}
		}
		if (d)
			closedir(d);
		if (!path[0])
			return -1;
	}
	if (ksmt_read_small(path, buf, sizeof(buf)) < 0)
		return -1;
	char *p = strrchr(buf, ')');
	unsigned long ut = 0, st = 0;
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			 &ut, &st) != 2)
		return -1;
	return (long)(ut + st);
}

/* ksmd's CPU time in ns from /proc/PID/schedstat (finer than ticks). */
static long long ksmd_ns(void)
{
	char p[96], buf[256];
	ksmd_ticks();
	if (!statpath[0])
		return -1;
	snprintf(p, sizeof(p), "%.*sschedstat", (int)(strlen(statpath) - 4), statpath);
	if (ksmt_read_small(p, buf, sizeof(buf)) < 0)
		return -1;
	return strtoll(buf, NULL, 10);
}

static double ts[MAXS];
static long long nss[MAXS];
static long sums[MAXS], ticks[MAXS];

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: ksmp-watch TIMEOUT_S PID...\n");
		return 2;
	}
	double timeout = atof(argv[1]);
	int n = argc - 2;
	pid_t *pids = calloc((size_t)n, sizeof(*pids));
	if (!pids)
		return 1;
	for (int i = 0; i < n; i++)
		pids[i] = atoi(argv[2 + i]);
	double t0 = ksmt_now();
	long k0 = ksmd_ticks();
	long long n0 = ksmd_ns();
	long scans0 = ksmt_full_scans();
	long last = -1, change_scan = scans0;
	int ns = 0;
	for (;;) {
		long sum = 0;
		for (int i = 0; i < n; i++) {
			long v = ksmt_stat(pids[i], "ksm_merging_pages");
			if (v > 0)
				sum += v;
		}
		long sc = ksmt_full_scans();
		double t = ksmt_now() - t0;
		if (ns < MAXS) {
			ts[ns] = t;
			sums[ns] = sum;
			ticks[ns] = ksmd_ticks() - k0;
			nss[ns] = ksmd_ns() - n0;
			ns++;
		}
		if (sum != last) {
			last = sum;
			change_scan = sc;
		}
		if (sum > 0 && sc >= change_scan + 3 && sc >= scans0 + 2)
			break;
		if (sum == 0 && sc >= scans0 + 4)
			break;
		if (t > timeout)
			break;
		usleep(10000);
	}
	long fin = last, mx = 0, rmap = 0;
	for (int i = 0; i < n; i++) {
		long v = ksmt_stat(pids[i], "ksm_merging_pages");
		if (v > mx)
			mx = v;
		v = ksmt_stat(pids[i], "ksm_rmap_items");
		if (v > 0)
			rmap += v;
	}
	int k = ns - 1;
	for (int i = 0; i < ns; i++)
		if ((double)sums[i] >= 0.99 * (double)fin) {
			k = i;
			break;
		}
	printf("sum %ld max %ld rmap %ld t99 %.3f ksmd_ticks %ld hz %ld ksmd_ms %.1f scans %ld\n",
	       fin, mx, rmap, k >= 0 ? ts[k] : 0.0, k >= 0 ? ticks[k] : 0,
	       sysconf(_SC_CLK_TCK), k >= 0 && n0 >= 0 ? (double)nss[k] / 1e6 : -1.0,
	       ksmt_full_scans() - scans0);
	free(pids);
	return 0;
}
