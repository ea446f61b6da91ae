/*
 * ksmp-forkwalk - fork while other threads take the library's slow paths
 * (tests/preload/preload_forkwalk.sh). glibc's fork does not reset the
 * loader's dl_load_write_lock in the child, so a child forked while
 * another thread was in dl_iterate_phdr (the library's look at the loaded
 * objects, on a new mmap record, a dlopen or dlclose) blocked for ever on
 * its own first look.
 *
 * ksmp-forkwalk FORKS SECONDS DSO [THREADS]: 4 threads loop on mmap(1
 * MiB)/munmap, one on dlopen(DSO)/dlclose (THREADS 0: none, a
 * single-threaded parent); main forks up to FORKS times for at most
 * SECONDS; each child, under alarm(5), maps and unmaps 1 MiB, mallocs and
 * frees 1 MiB, and exits 0. Prints "forks N hung H"; exit 0 when every
 * child exited 0, 1 when one was killed by SIGALRM (or failed).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "ksmp-childwork.h"

#define MIB (1u << 20)

static volatile int stop;
static const char *dso;

static void *mapper(void *arg)
{
	(void)arg;
	while (!stop) {
		void *p = mmap(NULL, MIB, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != MAP_FAILED)
			munmap(p, MIB);
	}
	return NULL;
}

static void *loader(void *arg)
{
	(void)arg;
	while (!stop) {
		void *h = dlopen(dso, RTLD_NOW | RTLD_LOCAL);
		if (h)
			dlclose(h);
	}
	return NULL;
}

static void child(void)
{
	alarm(5);
	int r = ksmp_child_work();
	_exit(r ? r + 2 : 0);
}

int main(int argc, char **argv)
{
	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: ksmp-forkwalk FORKS SECONDS DSO [THREADS]\n");
		return 2;
	}
	long forks = atol(argv[1]), secs = atol(argv[2]);
	dso = argv[3];
	int nth = argc == 5 && atoi(argv[4]) == 0 ? 0 : 5;
	pthread_t th[5];
	for (int i = 0; i < nth; i++)
		if (pthread_create(&th[i], NULL, i < 4 ? mapper : loader, NULL) != 0) {
			perror("pthread_create");
			return 2;
		}
	time_t end = time(NULL) + secs;
	long n = 0, hung = 0, bad = 0;
	while (n < forks && time(NULL) < end && !hung && !bad) {
		pid_t p = fork();
		if (p < 0) {
			perror("fork");
			bad++;
			break;
		}
		if (p == 0)
			child();
		n++;
		int st;
		if (waitpid(p, &st, 0) != p) {
			bad++;
		} else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM) {
			hung++;
			fprintf(stderr, "child of fork %ld hung (SIGALRM)\n", n);
		} else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "child of fork %ld: status %#x\n", n, st);
			bad++;
		}
	}
	stop = 1;
	for (int i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	printf("forks %ld hung %ld\n", n, hung);
	return hung || bad ? 1 : 0;
}
