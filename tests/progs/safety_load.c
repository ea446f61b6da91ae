/*
 * safety_load - mergefs under load: WORKERS threads read and write the
 * mergefs files of NPROC real processes running libksmpreload.so, while
 * some of those processes are killed and replaced, for SECS seconds.
 *
 *   safety_load MNT NPROC WORKERS SECS HOLDER [ARGS...]
 *
 * At most $SAFETY_REPLACE (default 300) processes are replaced in a run.
 * HOLDER is started NPROC times with LD_PRELOAD=$SAFETY_PRELOAD and
 * KSMP_POLICY=$SAFETY_POLICY added to the environment (a policy with
 * "control yes"). Checks, each failure printed on stderr as "WRONG ...":
 *  - every MNT/PID/stats read names PID ("pid PID"), says "library 1" and
 *    has exactly the keys, in the order, of the first stats read of the
 *    run; a process that stays in its slot never reads as gone;
 *  - a write of 0 or 1 to MNT/PID/merge succeeds and MNT/PID/merge then
 *    reads back what was last written (each worker writes only to its
 *    own slots, so "last written" is well defined);
 *  - a killed and reaped process: a write through a merge file opened
 *    before it died, and an open of it by path after, both give ENOENT
 *    (when its pid was taken by another process meanwhile, the open by
 *    path is not judged, only counted; it is never written to).
 * A read that shows a slot's process without the library is judged
 * again 1.5 s later and counted as transient when the library shows then.
 * Prints "reads R writes W replaced N enoent E reused U wrong X
 * transient T" and
 * exits 1 when X > 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "safety_util.h"

extern char **environ;

#define MAX_PROCS 1024
#define MAX_WORKERS 64
#define MAX_KEYS 96

static const char *mnt;
static int nproc, nworkers;
static char **holder_argv;
static char **child_env;
static double deadline;
static long max_replace = 300;	/* $SAFETY_REPLACE */

static struct slot {
	int pid;		/* 0 while being replaced (atomic) */
	int last;		/* last value written to merge (owner only) */
} slots[MAX_PROCS];

static char ref_keys[MAX_KEYS][48];
static int nref_keys;

static long n_reads, n_writes, n_replaced, n_enoent, n_reused, n_wrong, n_transient;

#define WRONG(...) do { fprintf(stderr, "WRONG " __VA_ARGS__); \
		__atomic_add_fetch(&n_wrong, 1, __ATOMIC_RELAXED); } while (0)
#define COUNT(c) __atomic_add_fetch(&(c), 1, __ATOMIC_RELAXED)

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, s, strlen(s));
	int e = n < 0 ? -errno : 0;
	close(fd);
	return e;
}

/* Split stats into keys; checks "KEY VALUE" lines. Returns key count or
 * -1 when a line is malformed. */
static int stats_keys(char *buf, char keys[][48], int max, long *pid, int *library)
{
	int n = 0;
	*pid = -1;
	*library = -1;
	for (char *l = buf; *l;) {
		char *nl = strchr(l, '\n');
		if (!nl)
			return -1;	/* not newline-terminated */
		*nl = 0;
		char *sp = strchr(l, ' ');
		if (!sp || sp == l || sp - l >= 48 || n >= max)
			return -1;
		for (char *c = l; c < sp; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
				return -1;
		memcpy(keys[n], l, (size_t)(sp - l));
		keys[n][sp - l] = 0;
		if (!strcmp(keys[n], "pid"))
			*pid = strtol(sp + 1, NULL, 10);
		else if (!strcmp(keys[n], "library"))
			*library = atoi(sp + 1);
		n++;
		l = nl + 1;
	}
	return n;
}

static int spawn_holder(void)
{
	pid_t pid;
	int r = posix_spawnp(&pid, holder_argv[0], NULL, NULL, holder_argv, child_env);
	if (r != 0) {
		fprintf(stderr, "spawn %s: %s\n", holder_argv[0], strerror(r));
		return -1;
	}
	return pid;
}

/* Wait until the holder is steerable through mergefs; 0 or -1. */
static int wait_steerable(int pid, double secs)
{
	return sft_wait_stats(mnt, pid, "\nsteerable 1\n", secs);
}

static unsigned rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (unsigned)(*s >> 11);
}

static void check_stats(int i)
{
	int pid = __atomic_load_n(&slots[i].pid, __ATOMIC_ACQUIRE);
	if (!pid)
		return;
	char path[4096], buf[16384], keys[MAX_KEYS][48];
	snprintf(path, sizeof(path), "%s/%d/stats", mnt, pid);
	ssize_t n = sft_slurp(path, buf, sizeof(buf));
	COUNT(n_reads);
	if (n < 0) {
		/* only a process replaced meanwhile may be gone */
		if (__atomic_load_n(&slots[i].pid, __ATOMIC_ACQUIRE) == pid)
			WRONG("stats of %d (still running): %s\n", pid, strerror((int)-n));
		return;
	}
	long spid;
	int lib;
	int nk = stats_keys(buf, keys, MAX_KEYS, &spid, &lib);
	if (nk < 0) {
		WRONG("stats of %d malformed\n", pid);
		return;
	}
	if (spid != pid)
		WRONG("stats of %d name pid %ld\n", pid, spid);
	if (lib != 1 && nk > 0) {
		/* Once seen (rarely, under ASan and heavy load) mergefs did not
		 * find a live process's block for a moment and showed it
		 * without the library. Judged again after its negative cache
		 * (1 s) has run out: counted when it then shows the library,
		 * wrong when it still does not. */
		struct timespec ts = { 1, 500000000 };
		nanosleep(&ts, NULL);
		if (__atomic_load_n(&slots[i].pid, __ATOMIC_ACQUIRE) != pid)
			return;
		n = sft_slurp(path, buf, sizeof(buf));
		if (n >= 0 && stats_keys(buf, keys, MAX_KEYS, &spid, &lib) > 0 && lib == 1) {
			COUNT(n_transient);
			fprintf(stderr, "transient: stats of %d said library 0, then 1\n", pid);
			return;
		}
		WRONG("stats of %d say library %d\n", pid, lib);
		return;
	}
	if (nk != nref_keys) {
		WRONG("stats of %d have %d keys, not %d\n", pid, nk, nref_keys);
		return;
	}
	for (int k = 0; k < nk; k++)
		if (strcmp(keys[k], ref_keys[k])) {
			WRONG("stats of %d: key %d is %s, not %s\n", pid, k, keys[k], ref_keys[k]);
			return;
		}
}

static void merge_write(int i, int v)
{
	int pid = slots[i].pid;
	char path[4096], buf[64];
	snprintf(path, sizeof(path), "%s/%d/merge", mnt, pid);
	int r = write_str(path, v ? "1" : "0");
	COUNT(n_writes);
	if (r < 0) {
		WRONG("write %d to %d: %s\n", v, pid, strerror(-r));
		return;
	}
	slots[i].last = v;
	ssize_t n = sft_slurp(path, buf, sizeof(buf));
	if (n < 0 || strcmp(buf, v ? "1\n" : "0\n"))
		WRONG("merge of %d reads '%s' (%zd) after writing %d\n", pid,
		      n >= 0 ? buf : "", n, v);
}

static void merge_check(int i)
{
	int pid = slots[i].pid;
	char path[4096], buf[64];
	snprintf(path, sizeof(path), "%s/%d/merge", mnt, pid);
	ssize_t n = sft_slurp(path, buf, sizeof(buf));
	COUNT(n_reads);
	if (n < 0 || strcmp(buf, slots[i].last ? "1\n" : "0\n"))
		WRONG("merge of %d reads '%s' (%zd), last written %d\n", pid,
		      n >= 0 ? buf : "", n, slots[i].last);
}

static int same_process_now(int pid, const struct stat *before)
{
	char p[64];
	struct stat sb;
	snprintf(p, sizeof(p), "/proc/%d", pid);
	return stat(p, &sb) == 0 && sb.st_ino == before->st_ino;
}

static void replace(int i)
{
	int pid = slots[i].pid;
	char path[4096], p[64];
	struct stat old;
	snprintf(p, sizeof(p), "/proc/%d", pid);
	if (stat(p, &old) != 0)
		memset(&old, 0, sizeof(old));
	snprintf(path, sizeof(path), "%s/%d/merge", mnt, pid);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		WRONG("open merge of %d before kill: %s\n", pid, strerror(errno));
	__atomic_store_n(&slots[i].pid, 0, __ATOMIC_RELEASE);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (fd >= 0) {
		ssize_t n = write(fd, "0", 1);
		if (n >= 0 || errno != ENOENT)
			WRONG("write to exited %d through an old handle: %s\n", pid,
			      n >= 0 ? "succeeded" : strerror(errno));
		else
			COUNT(n_enoent);
		close(fd);
	}
	/* by path: only opened, never written, so that a pid reused by some
	 * other process meanwhile is not sent a command */
	int r = 0, nfd = open(path, O_WRONLY | O_CLOEXEC);
	if (nfd < 0)
		r = -errno;
	else
		close(nfd);
	if (r == -ENOENT) {
		COUNT(n_enoent);
	} else if (!same_process_now(pid, &old) && access(p, F_OK) == 0) {
		COUNT(n_reused);	/* the pid is someone else's now */
	} else {
		WRONG("open of exited %d's merge by path: %s\n", pid, r ? strerror(-r) : "succeeded");
	}
	int np = spawn_holder();
	if (np < 0 || wait_steerable(np, 10) < 0) {
		WRONG("replacement %d of %d never became steerable\n", np, pid);
		if (np > 0) {
			kill(np, SIGKILL);
			waitpid(np, NULL, 0);
		}
		np = spawn_holder();
		if (np < 0 || wait_steerable(np, 10) < 0) {
			fprintf(stderr, "cannot replace holders\n");
			exit(1);
		}
	}
	slots[i].last = 1;
	__atomic_store_n(&slots[i].pid, np, __ATOMIC_RELEASE);
	COUNT(n_replaced);
}

static void *worker(void *arg)
{
	int w = (int)(intptr_t)arg;
	uint64_t s = 0x9E3779B97F4A7C15ull * (uint64_t)(w + 1);
	int mine = 0;
	for (int i = w; i < nproc; i += nworkers)
		mine++;
	while (sft_now() < deadline) {
		unsigned op = rnd(&s) % 100;
		int own = w + (int)(rnd(&s) % (unsigned)mine) * nworkers;
		if (op < 55) {
			check_stats((int)(rnd(&s) % (unsigned)nproc));
		} else if (op < 85) {
			merge_write(own, (int)(rnd(&s) & 1));
		} else if (op < 97) {
			merge_check(own);
		} else if (op < 98) {
			char path[4096], buf[65536];
			snprintf(path, sizeof(path), "%s/stats", mnt);
			if (sft_slurp(path, buf, sizeof(buf)) < 0)
				WRONG("host stats unreadable\n");
		} else if (__atomic_load_n(&n_replaced, __ATOMIC_RELAXED) < max_replace) {
			replace(own);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: safety_load MNT NPROC WORKERS SECS HOLDER [ARGS...]\n");
		return 2;
	}
	mnt = argv[1];
	nproc = atoi(argv[2]);
	nworkers = atoi(argv[3]);
	double secs = atof(argv[4]);
	holder_argv = argv + 5;
	if (nproc < 1 || nproc > MAX_PROCS || nworkers < 1 || nworkers > MAX_WORKERS ||
	    nworkers > nproc) {
		fprintf(stderr, "safety_load: bad NPROC or WORKERS\n");
		return 2;
	}
	const char *pre = getenv("SAFETY_PRELOAD"), *pol = getenv("SAFETY_POLICY");
	if (getenv("SAFETY_REPLACE"))
		max_replace = atol(getenv("SAFETY_REPLACE"));
	if (!pre || !pol) {
		fprintf(stderr, "safety_load: SAFETY_PRELOAD and SAFETY_POLICY must be set\n");
		return 2;
	}
	size_t ne = 0;
	while (environ[ne])
		ne++;
	child_env = calloc(ne + 3, sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < ne; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) && strncmp(environ[i], "KSMP_POLICY=", 12))
			child_env[k++] = environ[i];
	child_env[k] = malloc(strlen(pre) + 16);
	sprintf(child_env[k++], "LD_PRELOAD=%s", pre);
	child_env[k] = malloc(strlen(pol) + 16);
	sprintf(child_env[k++], "KSMP_POLICY=%s", pol);
	child_env[k] = NULL;

	double t0 = sft_now();
	for (int i = 0; i < nproc; i++) {
		slots[i].pid = spawn_holder();
		slots[i].last = 1;
		if (slots[i].pid < 0)
			return 1;
	}
	for (int i = 0; i < nproc; i++)
		if (wait_steerable(slots[i].pid, 15) < 0) {
			fprintf(stderr, "holder %d never became steerable\n", slots[i].pid);
			for (int j = 0; j < nproc; j++)
				kill(slots[j].pid, SIGKILL);
			return 1;
		}
	char path[4096], buf[16384];
	snprintf(path, sizeof(path), "%s/%d/stats", mnt, slots[0].pid);
	long spid;
	int lib;
	if (sft_slurp(path, buf, sizeof(buf)) <= 0 ||
	    (nref_keys = stats_keys(buf, ref_keys, MAX_KEYS, &spid, &lib)) < 5) {
		fprintf(stderr, "first stats unreadable or malformed\n");
		return 1;
	}
	printf("started %d holders in %.1f s, %d stats keys\n", nproc, sft_now() - t0, nref_keys);
	fflush(stdout);

	deadline = sft_now() + secs;
	pthread_t th[MAX_WORKERS];
	for (int w = 0; w < nworkers; w++)
		if (pthread_create(&th[w], NULL, worker, (void *)(intptr_t)w) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			return 1;
		}
	for (int w = 0; w < nworkers; w++)
		pthread_join(th[w], NULL);
	/* final: every merge file reads what was last written */
	for (int i = 0; i < nproc; i++)
		merge_check(i);
	for (int i = 0; i < nproc; i++) {
		kill(slots[i].pid, SIGKILL);
		waitpid(slots[i].pid, NULL, 0);
	}
	printf("reads %ld writes %ld replaced %ld enoent %ld reused %ld wrong %ld transient %ld\n",
	       n_reads, n_writes, n_replaced, n_enoent, n_reused, n_wrong, n_transient);
	return n_wrong ? 1 : 0;
}
