/*
 * libksmpdlhook.so - preloaded after libksmpreload.so, so that the
 * library's dlclose reaches the real one through this one. With
 * KSMP_DLHOOK_FORK set, right after the real dlclose returns (the object
 * unmapped, the library not told yet) another thread of the process
 * forks, and dlclose returns only once it has: the fork that lands in
 * that window, every time. The child prints "forkduring PID" and waits,
 * dying with its parent (tests/preload/preload_data.sh).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

static int req[2] = { -1, -1 }, done[2] = { -1, -1 };

static void *forker(void *arg)
{
	char c;
	(void)arg;
	while (read(req[0], &c, 1) == 1) {
		pid_t parent = getpid();
		pid_t pid = fork();
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(0);
			dprintf(1, "forkduring %d\n", (int)getpid());
			for (;;)
				pause();
		}
		if (write(done[1], "x", 1) != 1)
			break;
	}
	return NULL;
}

__attribute__((constructor)) static void hook_init(void)
{
	pthread_t t;
	if (!getenv("KSMP_DLHOOK_FORK") || pipe(req) || pipe(done) ||
	    pthread_create(&t, NULL, forker, NULL))
		req[1] = -1;
}

int dlclose(void *handle)
{
	int (*real)(void *) = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
	int r = real ? real(handle) : -1;
	char c;
	if (req[1] >= 0 && write(req[1], "x", 1) == 1 && read(done[0], &c, 1) != 1)
		req[1] = -1;
	return r;
}
