/*
 * ksmp-misc - process-level cases that libksmpreload.so must survive.
 * Each subcommand prints "ok CASE" on success or "fail CASE: why" and
 * exits 0 / 1:
 *
 *   fork        fork; the child allocates and maps, exits 0
 *   mtfork      fork from a parent with 4 threads busy in malloc/mmap
 *   exec PROG [ARG...]  exec PROG (checks LD_PRELOAD survives in PROG)
 *   threads     16 threads x malloc/free/mmap/munmap loops
 *   dlopen      dlopen/dlclose libksmpcaller.so 100 times, calling into it
 *   signals     own handlers on SIGUSR1, SIGUSR2 and every real-time signal
 *   unshare     unshare(CLONE_NEWUSER) (single-threaded)
 *   stderr      close fd 2, reopen it on a file, allocate; the file must
 *               stay empty (path in argv[2])
 *   preload     print LD_PRELOAD and whether the library is mapped
 *   state       print the library's state block (policy name, engine)
 *   work        malloc/mmap a little, print "ok work"
 *   nnp         prctl(PR_SET_NO_NEW_PRIVS) before any allocation of its own
 *   vfork       a vfork child allocates before its _exit; then the parent
 *               allocates: if it has a state block with a control signal,
 *               the parent's own signal table must catch that signal
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ksmp_state.h"

static int fail(const char *c, const char *why)
{
	printf("fail %s: %s (%s)\n", c, why, strerror(errno));
	return 1;
}

static int pass(const char *c)
{
	printf("ok %s\n", c);
	return 0;
}

static int churn(unsigned seed, int rounds)
{
	void *keep[32] = { 0 };
	for (int i = 0; i < rounds; i++) {
		seed = seed * 1103515245u + 12345u;
		size_t n = 16 + (seed >> 8) % (256 * 1024);
		unsigned slot = (seed >> 4) % 32;
		free(keep[slot]);
		keep[slot] = malloc(n);
		if (!keep[slot])
			return -1;
		memset(keep[slot], (int)i, n < 4096 ? n : 4096);
		if (i % 16 == 0) {
			void *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (m == MAP_FAILED)
				return -1;
			memset(m, 1, 8192);
			if (munmap(m, 1 << 20) != 0)
				return -1;
		}
	}
	for (int i = 0; i < 32; i++)
		free(keep[i]);
	return 0;
}

static volatile int stop_threads;

static void *busy(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	while (!stop_threads)
		if (churn(seed++, 200) != 0)
			return (void *)1;
	return NULL;
}

static void *churn_thread(void *arg)
{
	return churn((unsigned)(uintptr_t)arg, 3000) ? (void *)1 : NULL;
}

static int child_work(void)
{
	return churn(7, 500) == 0 ? 0 : 1;
}

static int do_fork(int threaded)
{
	const char *c = threaded ? "mtfork" : "fork";
	pthread_t t[4];
	if (threaded)
		for (int i = 0; i < 4; i++)
			if ((errno = pthread_create(&t[i], NULL, busy, (void *)(uintptr_t)(i + 1))))
				return fail(c, "pthread_create");
	for (int round = 0; round < (threaded ? 20 : 3); round++) {
		pid_t pid = fork();
		if (pid < 0)
			return fail(c, "fork");
		if (pid == 0) {
			alarm(10);
			_exit(child_work());
		}
		int st;
		if (waitpid(pid, &st, 0) != pid)
			return fail(c, "waitpid");
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			errno = 0;
			return fail(c, "child failed or was killed");
		}
	}
	if (threaded) {
		stop_threads = 1;
		for (int i = 0; i < 4; i++) {
			void *r;
			pthread_join(t[i], &r);
			if (r)
				return fail(c, "thread failed");
		}
	}
	return pass(c);
}

static int do_threads(void)
{
	pthread_t t[16];
	for (int i = 0; i < 16; i++)
		if ((errno = pthread_create(&t[i], NULL, churn_thread, (void *)(uintptr_t)(i * 77))))
			return fail("threads", "pthread_create");
	for (int i = 0; i < 16; i++) {
		void *r;
		pthread_join(t[i], &r);
		if (r)
			return fail("threads", "thread failed");
	}
	return pass("threads");
}

static int do_dlopen(void)
{
	char path[4096];
	const char *bd = getenv("KSMP_BUILDDIR");
	snprintf(path, sizeof(path), "%s/tests/progs/libksmpcaller.so", bd ? bd : ".");
	for (int i = 0; i < 100; i++) {
		void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			printf("fail dlopen: %s\n", dlerror());
			return 1;
		}
		int (*ans)(void) = (int (*)(void))dlsym(h, "ksmp_caller_answer");
		void *(*mm)(size_t) = (void *(*)(size_t))dlsym(h, "ksmp_caller_mmap");
		if (!ans || !mm || ans() != 42)
			return fail("dlopen", "dlsym");
		void *p = mm(1 << 20);
		if (p == MAP_FAILED)
			return fail("dlopen", "mmap in library");
		memset(p, 3, 1 << 20);
		munmap(p, 1 << 20);
		if (dlclose(h) != 0)
			return fail("dlopen", "dlclose");
		/* a failing dlopen calls malloc inside dlerror: must work too */
		if (dlopen("/nonexistent/libnothing.so", RTLD_NOW) != NULL || !dlerror())
			return fail("dlopen", "failing dlopen");
	}
	return pass("dlopen");
}

static volatile sig_atomic_t hits[_NSIG];

static void handler(int sig, siginfo_t *si, void *uc)
{
	(void)si; (void)uc;
	hits[sig]++;
}

static int do_signals(void)
{
	int sigs[80], n = 0;
	sigs[n++] = SIGUSR1;
	sigs[n++] = SIGUSR2;
	for (int s = SIGRTMIN; s <= SIGRTMAX; s++)
		sigs[n++] = s;
	for (int i = 0; i < n; i++) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = handler;
		sa.sa_flags = SA_SIGINFO;
		sigemptyset(&sa.sa_mask);
		if (sigaction(sigs[i], &sa, NULL) != 0)
			return fail("signals", "sigaction");
	}
	churn(3, 200);
	for (int i = 0; i < n; i++) {
		union sigval v = { .sival_int = 7 };
		if (sigqueue(getpid(), sigs[i], v) != 0)
			return fail("signals", "sigqueue");
		if (raise(sigs[i]) != 0)
			return fail("signals", "raise");
	}
	for (int i = 0; i < n; i++) {
		if (hits[sigs[i]] != 2) {
			printf("fail signals: signal %d reached our handler %d times, want 2\n",
			       sigs[i], (int)hits[sigs[i]]);
			return 1;
		}
		struct sigaction old;
		sigaction(sigs[i], NULL, &old);
		if (old.sa_sigaction != handler)
			return fail("signals", "our handler was replaced");
	}
	return pass("signals");
}

static int do_unshare(void)
{
	if (unshare(CLONE_NEWUSER) != 0)
		return fail("unshare", "unshare(CLONE_NEWUSER)");
	return pass("unshare");
}

static int do_stderr(const char *path)
{
	close(2);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd != 2) {
		printf("fail stderr: reopened as fd %d\n", fd);
		return 1;
	}
	if (churn(11, 500) != 0)
		return fail("stderr", "churn");
	pid_t pid = fork();
	if (pid == 0)
		_exit(child_work());
	waitpid(pid, NULL, 0);
	return pass("stderr");
}

static int do_preload(void)
{
	const char *lp = getenv("LD_PRELOAD");
	int mapped = 0;
	FILE *f = fopen("/proc/self/maps", "re");
	char line[1024];
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "/libksmpreload.so"))
			mapped = 1;
	if (f)
		fclose(f);
	printf("LD_PRELOAD=%s\nmapped %d\n", lp ? lp : "", mapped);
	return 0;
}

/* The vfork case: the block a child sharing our memory might have made
 * would name a signal only the child's table catches. */
static int do_vfork(void)
{
	pid_t p = vfork();
	if (p == 0) {
		volatile char *x = malloc(1 << 20);
		if (x)
			x[0] = 1;
		_exit(0);
	}
	if (p < 0 || waitpid(p, NULL, 0) != p)
		return fail("vfork", "vfork");
	char *z = malloc(4 << 20);
	if (!z)
		return fail("vfork", "malloc");
	memset(z, 1, 4 << 20);
	FILE *f = fopen("/proc/self/maps", "re");
	char line[1024];
	unsigned long long s = 0;
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "/memfd:" KSMP_STATE_MEMFD_NAME) &&
		    sscanf(line, "%llx-", &s) == 1)
			break;
	if (f)
		fclose(f);
	if (!s)
		return pass("vfork");	/* no block: nothing to steer */
	const struct ksmp_state *st = (const struct ksmp_state *)(uintptr_t)s;
	int sig = st->signo;
	if (st->pid != getpid())
		return fail("vfork", "the block names another pid");
	if (sig <= 0)
		return pass("vfork");
	unsigned long long cgt = 0;
	f = fopen("/proc/self/status", "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "SigCgt: %llx", &cgt) == 1)
			break;
	if (f)
		fclose(f);
	free(z);
	return (cgt >> (sig - 1)) & 1 ? pass("vfork") :
	       fail("vfork", "the block's signal is not caught here");
}

static int do_state(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[1024];
	unsigned long long s = 0;
	int found = 0;
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "/memfd:" KSMP_STATE_MEMFD_NAME) &&
		    sscanf(line, "%llx-", &s) == 1) {
			found = 1;
			break;
		}
	if (f)
		fclose(f);
	if (!found) {
		printf("nostate\n");
		return 1;
	}
	const struct ksmp_state *st = (const struct ksmp_state *)(uintptr_t)s;
	printf("engine %u mode %u flags 0x%x pid %d policy %.64s\n", st->engine,
	       st->mode, st->flags, st->pid, st->policy_name);
	return st->pid == getpid() ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: ksmp-misc CASE [ARG...]\n");
		return 2;
	}
	const char *c = argv[1];
	if (!strcmp(c, "fork"))
		return do_fork(0);
	if (!strcmp(c, "mtfork"))
		return do_fork(1);
	if (!strcmp(c, "threads"))
		return do_threads();
	if (!strcmp(c, "dlopen"))
		return do_dlopen();
	if (!strcmp(c, "signals"))
		return do_signals();
	if (!strcmp(c, "unshare"))
		return do_unshare();
	if (!strcmp(c, "stderr") && argc == 3)
		return do_stderr(argv[2]);
	if (!strcmp(c, "preload"))
		return do_preload();
	if (!strcmp(c, "state"))
		return do_state();
	if (!strcmp(c, "vfork"))
		return do_vfork();
	if (!strcmp(c, "nnp"))
		return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 ? pass("nnp") :
		       fail("nnp", "prctl");
	if (!strcmp(c, "work"))
		return churn(5, 300) == 0 ? pass("work") : fail("work", "churn");
	if (!strcmp(c, "exec") && argc >= 3) {
		fflush(stdout);
		execv(argv[2], argv + 2);
		return fail("exec", argv[2]);
	}
	fprintf(stderr, "ksmp-misc: unknown case %s\n", c);
	return 2;
}
