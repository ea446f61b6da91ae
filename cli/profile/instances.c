/* instances.c - the profiled instances: waiting for the plateau, reaping,
 * stopping them (SIGTERM, then SIGKILL, process group and all). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ksmp_util.h"
#include "profile.h"

/* A key's value in /proc/PID/ksm_stat, or -1. */
long long prof_ksm_stat(pid_t pid, const char *key)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ksm_stat", (int)pid);
	char *t = ksmp_read_file(path, NULL);
	long long v = t ? ksmp_key_value(t, key) : -1;
	free(t);
	return v;
}

static long long prof_full_scans(void)
{
	char *t = ksmp_read_file("/sys/kernel/mm/ksm/full_scans", NULL);
	long long v = t ? strtoll(t, NULL, 10) : -1;
	free(t);
	return v;
}

volatile sig_atomic_t prof_interrupted;

void prof_on_sigint(int sig)
{
	(void)sig;
	prof_interrupted = 1;
}

/* Sum of ksm_merging_pages; *res gets the sum of resident pages (statm),
 * so that a workload still filling its memory is not taken as settled. */
static long long prof_sum_merging(struct inst *in, int n, long long *res)
{
	long long s = 0;
	*res = 0;
	for (int i = 0; i < n; i++) {
		if (in[i].exited)
			continue;
		long long v = prof_ksm_stat(in[i].pid, "ksm_merging_pages");
		if (v > 0)
			s += v;
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/statm", (int)in[i].pid);
		char *t = ksmp_read_file(path, NULL);
		unsigned long long size, rss;
		if (t && sscanf(t, "%llu %llu", &size, &rss) == 2)
			*res += (long long)rss;
		free(t);
	}
	return s;
}

void prof_reap(struct inst *in, int n)
{
	for (int i = 0; i < n; i++) {
		if (in[i].exited)
			continue;
		if (waitpid(in[i].pid, &in[i].status, WNOHANG) == in[i].pid)
			in[i].exited = true;
	}
}

/* Wait for the plateau, --prof_settle seconds, Enter or SIGINT. */
void prof_settle(struct inst *in, int n, double settle_s, bool quiet)
{
	double t0 = ksmp_now(), last_change = t0;
	long long fs0 = prof_full_scans(), last = -1, last_res = -1;
	bool tty = isatty(0);
	if (!quiet)
		fprintf(stderr, "ksmpreload profile: %d instance(s) running; %s\n", n,
			settle_s > 0 ? "waiting the settle time (Ctrl-C or Enter to stop early)" :
			"waiting for the savings to plateau (Ctrl-C or Enter to stop early)");
	while (!prof_interrupted) {
		struct pollfd p = { .fd = 0, .events = POLLIN };
		if (poll(&p, tty ? 1 : 0, 250) > 0 && tty) {
			char line[256];
			if (!fgets(line, sizeof(line), stdin) || line[0])
				break;
		}
		prof_reap(in, n);
		int alive = 0;
		for (int i = 0; i < n; i++)
			alive += !in[i].exited;
		if (!alive)
			break;
		double t = ksmp_now();
		if (settle_s > 0) {
			if (t - t0 >= settle_s)
				break;
			continue;
		}
		long long res;
		long long s = prof_sum_merging(in, n, &res);
		long long dres = res > last_res ? res - last_res : last_res - res;
		if (s != last || dres * 200 > res) {	/* 0.5% */
			last = s;
			last_res = res;
			last_change = t;
			fs0 = prof_full_scans();
		}
		long long fs = prof_full_scans();
		/* a page needs two passes: settled when nothing changed for 2 s
		 * and for 3 full scans */
		if (fs >= 0 && fs - fs0 >= 3 && t - last_change >= 2.0)
			break;
		if (t - t0 >= DEFAULT_MAX_WAIT)
			break;
	}
}

void prof_stop_all(struct inst *in, int n)
{
	for (int i = 0; i < n; i++)
		if (!in[i].exited)
			kill(-in[i].pid, SIGTERM), kill(in[i].pid, SIGTERM);
	double t0 = ksmp_now();
	for (;;) {
		prof_reap(in, n);
		int alive = 0;
		for (int i = 0; i < n; i++)
			alive += !in[i].exited;
		if (!alive)
			return;
		if (ksmp_now() - t0 > 2.0)
			break;
		usleep(20000);
	}
	for (int i = 0; i < n; i++)
		if (!in[i].exited) {
			kill(-in[i].pid, SIGKILL);
			kill(in[i].pid, SIGKILL);
			waitpid(in[i].pid, NULL, 0);
			in[i].exited = true;
		}
}
