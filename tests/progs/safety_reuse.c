/*
 * safety_reuse - writes racing against exiting processes and reused pids.
 * Run as root inside a new pid namespace (unshare --pid --fork
 * --mount-proc) with mergefs mounted on MNT in it, so that
 * /proc/sys/kernel/ns_last_pid hands a dead target's pid to the next
 * process.
 *
 *   safety_reuse MNT ROUNDS BLOCKER HOLDER [ARGS...]
 *
 * HOLDER runs under the library (LD_PRELOAD=$SAFETY_PRELOAD,
 * KSMP_POLICY=$SAFETY_POLICY added to the environment). BLOCKER is a
 * target that blocks its control signal (tests/progs/mergefs_target -b),
 * so that a write to it stays in flight until mergefs's timeout. Each
 * round kills a target A of pid X and starts a fresh holder B on pid X,
 * then checks that nothing meant for A reached B:
 *  stale:    merge and regions files of A opened before A died; after B
 *            took pid X, writes through them give ENOENT;
 *  inflight: a write to A (blocked signal) is in flight when A is killed
 *            and B takes pid X; it ends with ENOENT, well before the
 *            timeout;
 *  race:     a thread writes 0/1 to A through one handle in a loop while
 *            A is killed after a random delay: every write is OK or
 *            ENOENT, and once ENOENT always ENOENT, also after B came;
 * and B's "commands" stays 0, its merge_state 1, its merge file "1".
 * A round where B did not get pid X (a thread of mergefs took it) is run
 * again, up to 3 times. Prints "rounds N reused S/I/R wrong W again A"
 * (S/I/R: rounds of each kind where B got pid X; A: rounds run again) and
 * exits 1 when W > 0 or no pid was reused.
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "safety_util.h"

extern char **environ;

static const char *mnt;
static char **holder_argv, **child_env, **plain_env;
static char *blocker_argv[8];
static long n_wrong;

#define WRONG(...) do { fprintf(stderr, "WRONG " __VA_ARGS__); n_wrong++; } while (0)

static long field(const char *buf, const char *key)
{
	char k[64];
	snprintf(k, sizeof(k), "\n%s ", key);
	const char *p = strstr(buf, k);
	return p ? strtol(p + strlen(k), NULL, 10) : -1;
}

static int spawn(char **argv, char **env)
{
	pid_t pid;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	int r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		fprintf(stderr, "spawn %s: %s\n", argv[0], strerror(r));
		exit(1);
	}
	return pid;
}

/* Wait until MNT/PID/stats contains want; 0 or -1. */
static int wait_stats(int pid, const char *want)
{
	return sft_wait_stats(mnt, pid, want, 10);
}

static void reap(int pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Start a holder on pid x if it can be had; returns its pid. */
static int holder_on(int x)
{
	for (int tries = 0; tries < 20; tries++) {
		int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			char s[32];
			int n = snprintf(s, sizeof(s), "%d", x - 1);
			if (write(fd, s, (size_t)n) < 0)
				perror("ns_last_pid");
			close(fd);
		}
		int pid = spawn(holder_argv, child_env);
		if (pid == x || tries == 19)
			return pid;
		reap(pid);	/* a mergefs thread took x - 1 + 1 first */
	}
	return -1;
}

/* B must be untouched: no command carried out, still merged. */
static void check_untouched(int b, const char *what)
{
	char path[4096], buf[16384];
	snprintf(path, sizeof(path), "%s/%d/stats", mnt, b);
	if (sft_slurp(path, buf, sizeof(buf)) <= 0) {
		WRONG("%s: stats of new process %d unreadable\n", what, b);
		return;
	}
	/* "pid N" is the first line: no newline before it */
	long pid = strncmp(buf, "pid ", 4) ? -1 : strtol(buf + 4, NULL, 10);
	if (pid != b || field(buf, "commands") != 0 || field(buf, "merge_state") != 1 ||
	    field(buf, "commands_rejected") != 0)
		WRONG("%s: new process %d touched: pid %ld commands %ld merge_state %ld rejected %ld\n",
		      what, b, pid, field(buf, "commands"), field(buf, "merge_state"),
		      field(buf, "commands_rejected"));
	snprintf(path, sizeof(path), "%s/%d/merge", mnt, b);
	if (sft_slurp(path, buf, sizeof(buf)) <= 0 || strcmp(buf, "1\n"))
		WRONG("%s: merge of new process %d reads '%s'\n", what, b, buf);
}

static int open_w(int pid, const char *file)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%d/%s", mnt, pid, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		WRONG("open %s of %d: %s\n", file, pid, strerror(errno));
	return fd;
}

static void expect_enoent(int fd, const char *s, const char *what)
{
	if (fd < 0)
		return;
	ssize_t n = pwrite(fd, s, strlen(s), 0);
	if (n >= 0 || errno != ENOENT)
		WRONG("%s: write '%s' to the dead process: %s\n", what, s,
		      n >= 0 ? "succeeded" : strerror(errno));
}

/* A page-aligned range mapped in pid (its first mapping). */
static void first_range(int pid, char *out, size_t sz)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	unsigned long long s = 0, e = 0;
	if (sft_slurp(path, buf, sizeof(buf)) > 0)
		sscanf(buf, "%llx-%llx", &s, &e);
	snprintf(out, sz, "unmerge %#llx %llu", s, e > s ? 4096ull : 0ull);
}

static int round_stale(void)
{
	int a = spawn(holder_argv, child_env);
	if (wait_stats(a, "\nsteerable 1\n") < 0) {
		WRONG("stale: holder %d never steerable\n", a);
		reap(a);
		return 0;
	}
	int fm = open_w(a, "merge"), fr = open_w(a, "regions");
	reap(a);
	int b = holder_on(a);
	if (wait_stats(b, "\nsteerable 1\n") < 0)
		WRONG("stale: new holder %d never steerable\n", b);
	char cmd[128];
	first_range(b, cmd, sizeof(cmd));	/* mapped in B: passes the range check */
	expect_enoent(fm, "0", "stale");
	expect_enoent(fm, "1\n", "stale");
	expect_enoent(fr, cmd, "stale regions");
	if (fm >= 0)
		close(fm);
	if (fr >= 0)
		close(fr);
	check_untouched(b, "stale");
	/* the control: a write meant for B does reach it and is counted */
	char path[4096], buf[16384];
	snprintf(path, sizeof(path), "%s/%d/merge", mnt, b);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || pwrite(fd, "0", 1, 0) != 1)
		WRONG("stale: write to the new process %d: %s\n", b, strerror(errno));
	if (fd >= 0)
		close(fd);
	/* the unmerge is one command, after one per batch of pages that
	 * ksmd merged meanwhile (KSM may be running for others) */
	snprintf(path, sizeof(path), "%s/%d/stats", mnt, b);
	if (sft_slurp(path, buf, sizeof(buf)) <= 0 ||
	    field(buf, "commands") != 1 + field(buf, "unmerge_batches") ||
	    field(buf, "merge_state") != 0)
		WRONG("stale: the new process %d did not count a command meant for it: "
		      "commands %ld unmerge_batches %ld merge_state %ld\n", b,
		      field(buf, "commands"), field(buf, "unmerge_batches"),
		      field(buf, "merge_state"));
	reap(b);
	return b == a;
}

struct inflight {
	int fd;
	int err;
	double secs;
};

static void *inflight_writer(void *arg)
{
	struct inflight *f = arg;
	double t = sft_now();
	f->err = write(f->fd, "0", 1) < 0 ? errno : 0;
	f->secs = sft_now() - t;
	return NULL;
}

/* Wait until pid blocks some signal (the blocker's control signal). */
static int wait_sigblk(int pid)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	for (double end = sft_now() + 10; sft_now() < end; usleep(2000)) {
		if (sft_slurp(path, buf, sizeof(buf)) <= 0)
			continue;
		const char *p = strstr(buf, "\nSigBlk:");
		if (p && strtoull(p + 9, NULL, 16) != 0)
			return 0;
	}
	return -1;
}

static int round_inflight(double timeout)
{
	int a = spawn(blocker_argv, plain_env);
	if (wait_stats(a, "\nlibrary 1\n") < 0) {
		WRONG("inflight: blocker %d never attached\n", a);
		reap(a);
		return 0;
	}
	/* The block is published before the blocker blocks the signal: wait
	 * for the block too, or a command could still be answered. */
	if (wait_sigblk(a) < 0) {
		WRONG("inflight: blocker %d never blocked its signal\n", a);
		reap(a);
		return 0;
	}
	struct inflight f = { .fd = open_w(a, "merge") };
	if (f.fd < 0) {
		reap(a);
		return 0;
	}
	pthread_t th;
	pthread_create(&th, NULL, inflight_writer, &f);
	usleep(100000);	/* the write is now waiting for an answer */
	reap(a);
	int b = holder_on(a);
	pthread_join(th, NULL);
	close(f.fd);
	if (f.err != ENOENT)
		WRONG("inflight: write to killed %d: %s\n", a, f.err ? strerror(f.err) : "succeeded");
	if (f.secs > timeout / 2)
		WRONG("inflight: the write took %.2f s (timeout %.1f s)\n", f.secs, timeout);
	if (wait_stats(b, "\nsteerable 1\n") < 0)
		WRONG("inflight: new holder %d never steerable\n", b);
	check_untouched(b, "inflight");
	reap(b);
	return b == a;
}

struct racer {
	int fd;
	volatile int stop;
	int mark;		/* set once B runs: count the writes begun since */
	long since_mark;
	long ok, enoent, other, after;	/* after: OK once ENOENT was seen */
};

static void *race_writer(void *arg)
{
	struct racer *r = arg;
	int v = 0, dead = 0;
	while (!r->stop) {
		int marked = __atomic_load_n(&r->mark, __ATOMIC_ACQUIRE);
		ssize_t n = pwrite(r->fd, v ? "1" : "0", 1, 0);
		v ^= 1;
		if (n == 1) {
			r->ok++;
			if (dead)
				r->after++;
		} else if (errno == ENOENT) {
			r->enoent++;
			dead = 1;
		} else {
			if (r->other++ < 3)
				fprintf(stderr, "race: %s\n", strerror(errno));
		}
		if (marked)
			__atomic_fetch_add(&r->since_mark, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static int round_race(uint64_t *seed)
{
	int a = spawn(holder_argv, child_env);
	if (wait_stats(a, "\nsteerable 1\n") < 0) {
		WRONG("race: holder %d never steerable\n", a);
		reap(a);
		return 0;
	}
	struct racer r = { .fd = open_w(a, "merge") };
	if (r.fd < 0) {
		reap(a);
		return 0;
	}
	pthread_t th;
	pthread_create(&th, NULL, race_writer, &r);
	*seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
	usleep((useconds_t)((*seed >> 33) % 30000));
	reap(a);
	int b = holder_on(a);
	if (wait_stats(b, "\nsteerable 1\n") < 0)
		WRONG("race: new holder %d never steerable\n", b);
	/* keep writing through A's handle while B runs: 20 ms, and at least
	 * one write begun since (a thread starved by load may not have
	 * written at all) */
	usleep(20000);
	__atomic_store_n(&r.mark, 1, __ATOMIC_RELEASE);
	for (double end = sft_now() + 10;
	     !__atomic_load_n(&r.since_mark, __ATOMIC_ACQUIRE) && sft_now() < end;)
		usleep(1000);
	r.stop = 1;
	pthread_join(th, NULL);
	close(r.fd);
	if (r.other || r.after || !r.enoent || !r.since_mark)
		WRONG("race: ok %ld enoent %ld other %ld ok-after-enoent %ld since B %ld\n",
		      r.ok, r.enoent, r.other, r.after, r.since_mark);
	check_untouched(b, "race");
	reap(b);
	return b == a;
}

static char **env_plus(const char *pre, const char *pol)
{
	size_t ne = 0;
	while (environ[ne])
		ne++;
	char **e = calloc(ne + 3, sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < ne; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) && strncmp(environ[i], "KSMP_POLICY=", 12))
			e[k++] = environ[i];
	if (pre) {
		e[k] = malloc(strlen(pre) + 16);
		sprintf(e[k++], "LD_PRELOAD=%s", pre);
		e[k] = malloc(strlen(pol) + 16);
		sprintf(e[k++], "KSMP_POLICY=%s", pol);
	}
	e[k] = NULL;
	return e;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: safety_reuse MNT ROUNDS BLOCKER HOLDER [ARGS...]\n");
		return 2;
	}
	mnt = argv[1];
	int rounds = atoi(argv[2]);
	const char *pre = getenv("SAFETY_PRELOAD"), *pol = getenv("SAFETY_POLICY");
	double timeout = getenv("SAFETY_TIMEOUT") ? atof(getenv("SAFETY_TIMEOUT")) : 5;
	if (!pre || !pol) {
		fprintf(stderr, "safety_reuse: SAFETY_PRELOAD and SAFETY_POLICY must be set\n");
		return 2;
	}
	blocker_argv[0] = argv[3];
	static char opt_b[] = "-b", opt_k[] = "-K", kib[] = "64";
	blocker_argv[1] = opt_b;
	blocker_argv[2] = opt_k;
	blocker_argv[3] = kib;
	blocker_argv[4] = NULL;
	holder_argv = argv + 4;
	child_env = env_plus(pre, pol);
	plain_env = env_plus(NULL, NULL);
	uint64_t seed = 12345;
	int reused[3] = { 0, 0, 0 }, again = 0;
	for (int i = 0; i < rounds; i++) {
		double t[4];
		for (int k = 0; k < 3; k++) {
			t[k] = sft_now();
			/* A new process that did not get the old pid (a thread
			 * of mergefs took it while it was free, and may keep
			 * it) tested no reuse: the round again, up to 3 times. */
			for (int n = 0; n < 4; n++) {
				int got = k == 0 ? round_stale() :
					  k == 1 ? round_inflight(timeout) : round_race(&seed);
				if (got) {
					reused[k]++;
					break;
				}
				again += n < 3;
			}
		}
		t[3] = sft_now();
		if (getenv("SAFETY_VERBOSE"))
			fprintf(stderr, "round %d: %.2f %.2f %.2f s\n", i, t[1] - t[0],
				t[2] - t[1], t[3] - t[2]);
	}
	printf("rounds %d reused %d/%d/%d wrong %ld again %d\n", rounds, reused[0],
	       reused[1], reused[2], n_wrong, again);
	return n_wrong || !reused[0] || !reused[1] || !reused[2] ? 1 : 0;
}
