/*
 * watch.c - `ksmpreload attach --watch`: attach every process whose
 * program a policy names (its `program` line, or -p's), as it appears,
 * until SIGINT or SIGTERM. Processes in containers are seen from the
 * host's /proc like any other.
 *
 * Each pass lists /proc and reads the start time of every process (one
 * small read each); only a process not seen before, identified by pid,
 * start time and command name (so a reused pid counts as new, and so does
 * a process that exec'd another program since: a shell that execs the
 * program, as container entry points do), has its executable and the
 * policy directory looked at, and is attached at most once per program,
 * whatever the outcome. The cost of a pass therefore grows with the number of
 * processes only by that one read each (bench/attach_bench.sh measures
 * it).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "ksmp_util.h"

struct seen {
	pid_t pid;
	unsigned long long start;
	char comm[16];		/* changes on exec */
};

static volatile sig_atomic_t stop_watch;

static void on_stop(int sig)
{
	(void)sig;
	stop_watch = 1;
}

static int cmp_seen(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return strcmp(x->comm, y->comm);
}

/* One pass: the processes now present into *now (sorted); the new ones,
 * absent from old, are handed to the attach. */
static int pass(struct attach_opts *o, const struct seen *old, size_t nold,
		struct seen **now, size_t *nnow, size_t *cap)
{
	DIR *d = opendir("/proc");
	if (!d)
		return -errno;
	size_t n = 0;
	struct dirent *e;
	pid_t self = getpid();
	while ((e = readdir(d)) && !stop_watch) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid_t pid = (pid_t)atoi(e->d_name);
		struct seen s = { pid, 0, "" };
		uint64_t st = 0;
		if (pid == self || ksmp_proc_stat_id(pid, &st, s.comm, sizeof(s.comm)) < 0 || !st)
			continue;
		s.start = st;
		if (ksmp_grow(now, cap, n + 1, sizeof(**now), 1024) < 0) {
			closedir(d);
			return -ENOMEM;
		}
		(*now)[n++] = s;
		if (old && bsearch(&s, old, nold, sizeof(*old), cmp_seen))
			continue;
		if (attach_program_matches(o, pid)) {
			attach_do_one(o, pid, true);
			fflush(stdout);
		}
	}
	closedir(d);
	if (n)
		qsort(*now, n, sizeof(**now), cmp_seen);
	*nnow = n;
	return 0;
}

int attach_watch(struct attach_opts *o, unsigned interval_ms)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	struct seen *a = NULL, *b = NULL;
	size_t na = 0, nb = 0, capa = 0, capb = 0;
	int err = 0;
	bool first = true;
	fprintf(stderr, "ksmpreload attach: watching every %u ms\n", interval_ms);
	while (!stop_watch && !err) {
		err = pass(o, first ? NULL : a, na, &b, &nb, &capb);
		first = false;
		struct seen *t = a;	/* b becomes the old list */
		size_t tc = capa;
		a = b;
		na = nb;
		capa = capb;
		b = t;
		capb = tc;
		struct timespec ts = { interval_ms / 1000, (long)(interval_ms % 1000) * 1000000 };
		while (!stop_watch && nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	free(a);
	free(b);
	if (err)
		fprintf(stderr, "ksmpreload attach: --watch: %s\n", strerror(-err));
	return err ? 1 : 0;
}
