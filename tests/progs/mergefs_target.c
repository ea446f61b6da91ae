/*
 * mergefs_target - a target process for mergefs tests and benchmarks.
 *
 *   mergefs_target [-s SEED] [-m MIB | -K KIB] [-v VMAS] [-P] [-b] [-o] [-n]
 *                  [-A] [-X] [-w MNT] [-T BYTES] [-D] [-F ERRNO]
 *                  [-U UID] [-S MS] [-N NAME] [-B KIND] [-E CMD]
 *
 * Publishes a state block like libksmpreload.so (mergefs_fake.c), runs the
 * real control agent (preload/control.c), fills MIB MiB (default 8) with a
 * seeded pattern and advises it MADV_MERGEABLE. -P: process engine (prctl)
 * instead. -v: add about VMAS extra mappings. -b: block the control signal.
 * -o: install a handler of its own on the control signal after the agent
 * (the agent must move). -n: no state block at all (a process that merges
 * without the library). -A: do not advise (leave it to the real library).
 * -X: publish a wrong start time (mergefs must not trust the block).
 * -w MNT: from a second thread, write "0" to MNT/OWNPID/merge and print
 * the outcome as "self OK" or "self ERRNO-NUMBER" (mergefs must see
 * through the thread id). -T BYTES: on SIGUSR2, shrink the state memfd
 * to BYTES (reopened through /proc/self/map_files, which needs root) and
 * print "shrunk" (mergefs must survive the SIGBUS it gets). -D: make the
 * process non-dumpable (prctl PR_SET_DUMPABLE 0). -F ERRNO: writes to
 * merge fail inside the target with ERRNO (mergefs must pass it on).
 * -U UID: started as root, drop to UID (setresuid/setresgid) before
 * "ready", as a daemon does (the kernel then makes it non-dumpable).
 * -S MS: an unmerge command takes MS ms inside the handler. -N NAME: set
 * the process name (prctl PR_SET_NAME; any bytes).
 * Prints "ready ADDR LEN SIGNO" on stdout, then
 * sleeps until killed.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "ksmtest.h"
#include "mergefs_fake.h"
#include "control.h"

static void own_handler(int sig)
{
	(void)sig;
}

static const char *self_mnt;
static volatile sig_atomic_t shrink_now, exec_now;

static void on_usr1(int sig)
{
	(void)sig;
	exec_now = 1;
}

static void on_usr2(int sig)
{
	(void)sig;
	shrink_now = 1;
}

/* Shrink the memfd behind st to bytes, as a privileged program could. */
static void shrink_block(const struct ksmp_state *st, long bytes)
{
	char path[128];
	long pg = sysconf(_SC_PAGESIZE);
	size_t len = (sizeof(*st) + (size_t)pg - 1) & ~((size_t)pg - 1);
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx",
		 (unsigned long)(uintptr_t)st, (unsigned long)((uintptr_t)st + len));
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)bytes) != 0)
		printf("shrink failed %d\n", errno);
	else
		printf("shrunk\n");
	fflush(stdout);
	if (fd >= 0)
		close(fd);
}

static void *self_writer(void *arg)
{
	(void)arg;
	char path[4096];
	snprintf(path, sizeof(path), "%s/%d/merge", self_mnt, (int)getpid());
	int fd = open(path, O_WRONLY);
	int e = 0;
	if (fd < 0)
		e = errno;
	else if (write(fd, "0", 1) != 1)
		e = errno;
	if (fd >= 0)
		close(fd);
	if (e)
		printf("self %d\n", e);
	else
		printf("self OK\n");
	fflush(stdout);
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned long seed = 1, kib = 8192, vmas = 0;
	int process = 0, block = 0, own = 0, nolib = 0, noadvise = 0, badid = 0, opt;
	int nodump = 0;
	long drop_uid = -1;
	const char *name = NULL;
	const char *exec_cmd = NULL;
	long shrink = -1;
	while ((opt = getopt(argc, argv, "s:m:K:v:PbonAXw:T:DF:U:S:N:B:E:")) != -1) {
		switch (opt) {
		case 's': seed = strtoul(optarg, NULL, 0); break;
		case 'm': kib = strtoul(optarg, NULL, 0) * 1024; break;
		case 'K': kib = strtoul(optarg, NULL, 0); break;
		case 'v': vmas = strtoul(optarg, NULL, 0); break;
		case 'P': process = 1; break;
		case 'b': block = 1; break;
		case 'o': own = 1; break;
		case 'n': nolib = 1; break;
		case 'A': noadvise = 1; break;
		case 'X': badid = 1; break;
		case 'w': self_mnt = optarg; break;
		case 'T': shrink = strtol(optarg, NULL, 0); fake_block = FAKE_BLOCK_UNSEALED; break;
		case 'D': nodump = 1; break;
		case 'F': fake_fail_errno = atoi(optarg); break;
		case 'U': drop_uid = strtol(optarg, NULL, 0); break;
		case 'S': fake_slow_ms = atoi(optarg); break;
		case 'N': name = optarg; break;
		case 'E': exec_cmd = optarg; break;
		case 'B': fake_block = !strcmp(optarg, "hugetlb") ? FAKE_BLOCK_HUGETLB : FAKE_BLOCK_UNSEALED; break;
		default:
			fprintf(stderr, "usage: mergefs_target [-s SEED] [-m MIB | -K KIB] [-v VMAS] [-P] [-b] [-o] [-n] [-A] [-X] [-w MNT] [-T BYTES] [-D] [-F ERRNO] [-U UID] [-S MS] [-N NAME] [-B KIND] [-E CMD]\n");
			return 2;
		}
	}
	size_t len = (kib * 1024 + 4095) & ~(size_t)4095;
	struct ksmp_state *st = NULL;
	if (!nolib) {
		st = fake_state_create(process);
		if (!st) {
			perror("mergefs_target: state");
			return 1;
		}
		if (ksmp_control_init(st) != 0)
			fprintf(stderr, "mergefs_target: no control signal\n");
	}
	char *buf = NULL;
	if (len) {
		buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (buf == MAP_FAILED) {
			perror("mergefs_target: mmap");
			return 1;
		}
		ksmt_fill(buf, len, seed);
		if (!process && !noadvise) {
			if (madvise(buf, len, MADV_MERGEABLE) != 0)
				perror("mergefs_target: madvise");
			else if (st)
				fake_region_add(st, (uintptr_t)buf, len, 3, 0, "mergefs_target");
		}
	}
	if (vmas) {
		long pg = sysconf(_SC_PAGESIZE);
		size_t n = vmas * 2;
		char *res = mmap(NULL, n * (size_t)pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (res == MAP_FAILED) {
			perror("mergefs_target: mmap");
			return 1;
		}
		for (size_t i = 0; i < n; i += 2)
			mprotect(res + i * (size_t)pg, (size_t)pg, PROT_READ);
	}
	if (st && block) {
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, st->signo);
		sigprocmask(SIG_BLOCK, &set, NULL);
	}
	if (st && own) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = own_handler;
		sigemptyset(&sa.sa_mask);
		int taken = st->signo;
		if (sigaction(taken, &sa, NULL) != 0)
			perror("mergefs_target: sigaction");
	}
	if (st && badid)
		st->starttime += 1;
	if (drop_uid >= 0 && (setresgid((gid_t)drop_uid, (gid_t)drop_uid, (gid_t)drop_uid) != 0 ||
			      setresuid((uid_t)drop_uid, (uid_t)drop_uid, (uid_t)drop_uid) != 0))
		perror("mergefs_target: setresuid");
	if (nodump && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		perror("mergefs_target: prctl");
	if (shrink >= 0)
		signal(SIGUSR2, on_usr2);
	if (exec_cmd)
		signal(SIGUSR1, on_usr1);
	if (name && prctl(PR_SET_NAME, name, 0, 0, 0) != 0)
		perror("mergefs_target: prctl");
	printf("ready %#lx %zu %d\n", (unsigned long)(uintptr_t)buf, len, st ? st->signo : 0);
	fflush(stdout);
	pthread_t th;
	if (self_mnt && pthread_create(&th, NULL, self_writer, NULL) == 0)
		pthread_join(th, NULL);
	for (;;) {
		pause();
		if (exec_now) {
			fflush(stdout);
			execl("/bin/sh", "sh", "-c", exec_cmd, (char *)NULL);
			perror("mergefs_target: exec");
		}
		if (shrink_now && st) {
			shrink_now = 0;
			shrink_block(st, shrink);
		}
	}
}
