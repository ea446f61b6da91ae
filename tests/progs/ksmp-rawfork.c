/*
 * ksmp-rawfork - children made without fork handlers (tests/preload/
 * preload_rawfork.sh): _Fork(), syscall(SYS_fork) and clone() without
 * CLONE_VM copy the process but run no pthread_atfork handler, so the
 * library's child handler never ran there. Each child maps, touches and
 * unmaps 1 MiB and mallocs and frees 1 MiB (ksmp-childwork.h), then forks
 * a grandchild with fork() that does the same, and exits 0.
 *
 * With KSMP_TEST_WANT_MG=1 each child (and grandchild) also maps 8 MiB
 * and exits 5 unless the library advised it (mg in its VmFlags): such a
 * child must go on merging as its parent did.
 *
 * MODE sigfork: a child forks 300 times in a row while a SIGPROF timer
 * (every 700 us of CPU) forks from its handler too, so that forks nest
 * inside this thread's own forks; it must not hang (alarm: 10 s).
 *
 * usage: ksmp-rawfork MODE...   (MODE: _Fork, sysfork, clone, sigfork)
 * Prints "MODE: exit N" or "MODE: signal N" per child; exits 0 when every
 * child exited 0.
 */
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <errno.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ksmp-childwork.h"

pid_t _Fork(void);

/* 1: the mapping at p has mg in its VmFlags, 0: not, -1: not found */
static int advised(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	char line[512];
	int in = 0, r = -1;
	unsigned long lo = (unsigned long)p;
	while (fgets(line, sizeof(line), f)) {
		unsigned long a, b;
		if (sscanf(line, "%lx-%lx ", &a, &b) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			in = a <= lo && lo < b;
			continue;
		}
		if (in && !strncmp(line, "VmFlags:", 8)) {
			r = strstr(line, " mg") != NULL;
			break;
		}
	}
	fclose(f);
	return r;
}

/* 0, or 5 when KSMP_TEST_WANT_MG=1 and a fresh 8 MiB mapping is not
 * advised (6: it could not be made) */
static int work(void)
{
	int r = ksmp_child_work();
	const char *w = getenv("KSMP_TEST_WANT_MG");
	if (r || !w || strcmp(w, "1"))
		return r;
	size_t len = 8u << 20;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 6;
	memset(p, 2, len);
	r = advised(p) == 1 ? 0 : 5;
	munmap(p, len);
	return r;
}

static int child_main(void *arg)
{
	(void)arg;
	alarm(10);
	int r = work();
	if (r)
		return r;
	pid_t g = fork();
	if (g < 0)
		return 3;
	if (g == 0)
		_exit(work());
	int st;
	if (waitpid(g, &st, 0) != g || !WIFEXITED(st) || WEXITSTATUS(st))
		return 4;
	return work();
}

static void onprof(int sig)
{
	(void)sig;
	int e = errno;
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	if (p > 0)
		while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
			;
	errno = e;
}

static int sigfork_main(void)
{
	alarm(10);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = onprof;
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGPROF, &sa, NULL))
		return 7;
	struct itimerval it = { { 0, 700 }, { 0, 700 } };
	if (setitimer(ITIMER_PROF, &it, NULL))
		return 7;
	for (int i = 0; i < 300; i++) {
		pid_t p = fork();
		if (p == 0)
			_exit(0);
		if (p < 0)
			return 3;
		int st;
		while (waitpid(p, &st, 0) < 0)
			if (errno != EINTR)
				return 4;
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_PROF, &it, NULL);
	return 0;
}

static pid_t start(const char *mode)
{
	static char stack[256 * 1024] __attribute__((aligned(16)));
	pid_t p;
	if (!strcmp(mode, "_Fork"))
		p = _Fork();
	else if (!strcmp(mode, "sysfork"))
		p = (pid_t)syscall(SYS_fork);
	else if (!strcmp(mode, "sigfork")) {
		p = fork();
		if (p == 0)
			_exit(sigfork_main());
		return p;
	} else if (!strcmp(mode, "clone"))
		return clone(child_main, stack + sizeof(stack), SIGCHLD, NULL);
	else
		return -1;
	if (p == 0)
		_exit(child_main(NULL));
	return p;
}

int main(int argc, char **argv)
{
	/* a large mapping first: under the built-in default too, the
	 * library's state block exists before the children are made */
	size_t len = 64u << 20;
	char *a = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED)
		return 2;
	memset(a, 1, 1u << 20);
	int bad = 0;
	for (int i = 1; i < argc; i++) {
		pid_t p = start(argv[i]);
		if (p < 0) {
			printf("%s: cannot start\n", argv[i]);
			bad = 1;
			continue;
		}
		int st;
		if (waitpid(p, &st, 0) != p) {
			printf("%s: waitpid failed\n", argv[i]);
			bad = 1;
		} else if (WIFSIGNALED(st)) {
			printf("%s: signal %d\n", argv[i], WTERMSIG(st));
			bad = 1;
		} else {
			printf("%s: exit %d\n", argv[i], WEXITSTATUS(st));
			bad |= WEXITSTATUS(st) != 0;
		}
	}
	munmap(a, len);
	return bad;
}
