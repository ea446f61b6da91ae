/*
 * ksmp-plateau - follow KSM merging of a set of processes until it stops
 * changing, for bench/real.
 *
 *   ksmp-plateau -k          print ksmd's CPU ticks now and exit
 *   ksmp-plateau [-k TICKS0] [-n STABLE_S] [-m MIN_S] [-c CAP_S] [-i MS] PID...
 *   ksmp-plateau -T FILE [-M MOUNT] [-C CTLPID] [-i MS] PID...
 *
 * Samples every MS (default 250) the sum of /proc/PID/ksm_merging_pages,
 * ksmd's CPU (utime+stime ticks of its /proc/PID/stat) and full_scans.
 * The plateau is reached when the sum, and the sum of ksm_rmap_items
 * (what ksmd scans: a controller's pruning lowers it after the merging
 * settled), have stayed within max(0.5%, 16 pages) of their latest values
 * for STABLE_S seconds (default 5) and over
 * at least two full scans of ksmd, and ksmd has completed at least three
 * full scans since the start (a page merges on its second or third scan;
 * smart_scan skips pages that failed), and MIN_S seconds (default 0)
 * have passed since the start (so that variants whose sums settle at
 * different times are still compared at about the same age); CAP_S (default 60) ends the watch
 * without a plateau. Prints one line:
 *   plateau 1|0 merging S rmap R t_plateau T ksmd_s C elapsed E scans N
 * T: seconds from the start until the sum first came within 1% of its
 * final value; C: ksmd CPU seconds from TICKS0 (default: the start) until
 * that moment; R: sum of ksm_rmap_items of /proc/PID/ksm_stat at the end.
 * Exit status 1 when a process is gone.
 *
 * -T (trace, for BENCH_TRACE): until a process is gone or the tracer is
 * killed, append one line per MS to FILE: "ms merging rmap ksmd_ticks
 * full_scans ctl_ticks prunes probes pid_prunes pid_probes pages_scanned
 * pages_skipped" (ms: CLOCK_REALTIME; ctl_ticks: CPU of CTLPID; prunes,
 * probes: the auto_ counters of MOUNT/stats, the commands the mode auto
 * controller sent, per chunk; pid_*: Σ of those of MOUNT/PID/stats, the
 * ones that changed something; read every 5th sample; -1 when not given;
 * pages_*: ksmd's, from /sys/kernel/mm/ksm).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ksmp_util.h"

#define MAXS 100000

static char ksmd_stat[64];

static void find_ksmd(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	char p[300], buf[64];
	while (d && (de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%s/comm", de->d_name);
		if (ksmp_read_small(p, buf, sizeof(buf)) == 5 && !memcmp(buf, "ksmd\n", 5)) {
			snprintf(ksmd_stat, sizeof(ksmd_stat), "/proc/%.20s/stat", de->d_name);
			break;
		}
	}
	if (d)
		closedir(d);
}

static long ticks_of(const char *stat);

static long ksmd_ticks(void)
{
	long t = ksmd_stat[0] ? ticks_of(ksmd_stat) : -1;
	return t > 0 ? t : 0;
}

static long read_long(const char *path)
{
	char buf[64];
	return ksmp_read_small(path, buf, sizeof(buf)) > 0 ? strtol(buf, NULL, 10) : -1;
}

static long rmap_items(const char *pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%s/ksm_stat", pid);
	if (ksmp_read_small(path, buf, sizeof(buf)) < 0)
		return -1;
	char *p = strstr(buf, "ksm_rmap_items ");
	return p ? strtol(p + 15, NULL, 10) : -1;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long ticks_of(const char *stat)
{
	char buf[1024];
	unsigned long ut = 0, st = 0;
	if (ksmp_read_small(stat, buf, sizeof(buf)) < 0)
		return -1;
	char *p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			 &ut, &st) != 2)
		return -1;
	return (long)(ut + st);
}

static long stat_field(const char *buf, const char *key)
{
	const char *p = strstr(buf, key);
	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

/* -T: one line per sample until a process is gone (see the top). */
static int trace(const char *file, const char *mnt, const char *ctl, long ms,
		 int argc, char **argv)
{
	FILE *f = fopen(file, "a");
	char ctlstat[64] = "", mstats[300] = "";
	if (!f)
		return 2;
	if (ctl)
		snprintf(ctlstat, sizeof(ctlstat), "/proc/%.20s/stat", ctl);
	if (mnt)
		snprintf(mstats, sizeof(mstats), "%.280s/stats", mnt);
	for (;;) {
		long sum = 0, rsum = 0;
		int gone = 0;
		for (int i = 0; i < argc; i++) {
			char path[64];
			snprintf(path, sizeof(path), "/proc/%s/ksm_merging_pages", argv[i]);
			long v = read_long(path), r = rmap_items(argv[i]);
			gone |= v < 0;
			sum += v > 0 ? v : 0;
			rsum += r > 0 ? r : 0;
		}
		if (gone)
			break;
		static char buf[8192];
		static long k, pr = -1, pb = -1, ppr = -1, ppb = -1;
		if (mstats[0] && k++ % 5 == 0 &&	/* FUSE reads: the controller's CPU */
		    ksmp_read_small(mstats, buf, sizeof(buf)) > 0) {
			pr = stat_field(buf, "auto_prunes ");
			pb = stat_field(buf, "auto_probes ");
			ppr = ppb = 0;
			for (int i = 0; i < argc; i++) {
				char path[340];
				snprintf(path, sizeof(path), "%.280s/%s/stats", mnt, argv[i]);
				if (ksmp_read_small(path, buf, sizeof(buf)) <= 0)
					continue;
				long a = stat_field(buf, "auto_prunes "), b = stat_field(buf, "auto_probes ");
				ppr += a > 0 ? a : 0;
				ppb += b > 0 ? b : 0;
			}
		}
		struct timespec rt;
		clock_gettime(CLOCK_REALTIME, &rt);
		fprintf(f, "%lld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld\n",
			(long long)rt.tv_sec * 1000 + rt.tv_nsec / 1000000, sum, rsum,
			ksmd_ticks(), read_long("/sys/kernel/mm/ksm/full_scans"),
			ctlstat[0] ? ticks_of(ctlstat) : -1, pr, pb, ppr, ppb,
			read_long("/sys/kernel/mm/ksm/pages_scanned"),
			read_long("/sys/kernel/mm/ksm/pages_skipped"));
		fflush(f);
		usleep((useconds_t)ms * 1000);
	}
	fclose(f);
	return 1;
}

static double ts[MAXS];
static long sums[MAXS], rsums[MAXS], ticks[MAXS], nscans[MAXS];

static int band(long a, long b)
{
	long d = a > b ? a - b : b - a, tol = b / 200;
	return d <= (tol > 16 ? tol : 16);
}

/* within 1% (or 16 pages) of the final value */
static int near(long a, long fin)
{
	long d = a > fin ? a - fin : fin - a, tol = fin / 100;
	return d <= (tol > 16 ? tol : 16);
}

int main(int argc, char **argv)
{
	double stable = 5, cap = 60, min = 0;
	long ms = 250, t0ticks = -1;
	const char *tfile = NULL, *mnt = NULL, *ctl = NULL;
	int opt;
	find_ksmd();
	if (argc == 2 && !strcmp(argv[1], "-k")) {
		printf("%ld\n", ksmd_ticks());
		return 0;
	}
	while ((opt = getopt(argc, argv, "k:n:m:c:i:T:M:C:")) != -1) {
		switch (opt) {
		case 'T': tfile = optarg; break;
		case 'M': mnt = optarg; break;
		case 'C': ctl = optarg; break;
		case 'k': t0ticks = strtol(optarg, NULL, 10); break;
		case 'n': stable = strtod(optarg, NULL); break;
		case 'm': min = strtod(optarg, NULL); break;
		case 'c': cap = strtod(optarg, NULL); break;
		case 'i': ms = strtol(optarg, NULL, 10); break;
		default: goto usage;
		}
	}
	if (optind >= argc || ms < 1 || stable <= 0 || cap <= 0)
		goto usage;
	if (tfile)
		return trace(tfile, mnt, ctl, ms, argc - optind, argv + optind);
	long hz = sysconf(_SC_CLK_TCK);
	const char *fs = "/sys/kernel/mm/ksm/full_scans";
	long scans0 = read_long(fs), scans = scans0;
	if (t0ticks < 0)
		t0ticks = ksmd_ticks();
	double start = now();
	int n = 0, plateau = 0, gone = 0;
	for (;;) {
		long sum = 0, rsum = 0;
		for (int i = optind; i < argc; i++) {
			char path[64];
			snprintf(path, sizeof(path), "/proc/%s/ksm_merging_pages", argv[i]);
			long v = read_long(path), r = rmap_items(argv[i]);
			if (v < 0)
				gone = 1;
			sum += v > 0 ? v : 0;
			rsum += r > 0 ? r : 0;
		}
		ts[n] = now() - start;
		sums[n] = sum;
		rsums[n] = rsum;
		ticks[n] = ksmd_ticks();
		scans = read_long(fs);
		nscans[n] = scans;
		n++;
		if (gone || n == MAXS || ts[n - 1] >= cap)
			break;
		int k = n - 1;
		while (k > 0 && band(sums[k - 1], sum) && band(rsums[k - 1], rsum))
			k--;
		if (scans - scans0 >= 3 && scans - nscans[k] >= 2 &&
		    ts[n - 1] - ts[k] >= stable && ts[n - 1] >= min) {
			plateau = 1;
			break;
		}
		usleep((useconds_t)ms * 1000);
	}
	long fin = sums[n - 1], rmap = 0;
	int k = 0;
	while (k < n - 1 && !near(sums[k], fin))
		k++;
	for (int i = optind; i < argc; i++) {
		long r = rmap_items(argv[i]);
		rmap += r > 0 ? r : 0;
	}
	printf("plateau %d merging %ld rmap %ld t_plateau %.2f ksmd_s %.2f elapsed %.2f scans %ld\n",
	       plateau, fin, rmap, ts[k], (double)(ticks[k] - t0ticks) / (double)hz,
	       ts[n - 1], scans - scans0);
	return gone;
usage:
	fprintf(stderr, "usage: ksmp-plateau -k | ksmp-plateau [-k TICKS0] [-n STABLE_S] "
			"[-m MIN_S] [-c CAP_S] [-i MS] PID...\n"
			"       ksmp-plateau -T FILE [-M MOUNT] [-C CTLPID] [-i MS] PID...\n");
	return 2;
}
