/*
 * ksmp-data - hold seeded data in writable static data, for the data
 * kind's tests (tests/preload/preload_data.sh).
 *
 *   ksmp-data [-s SEED] [-t thread|mmap] CRYPTOLIB LATELIB
 *
 * In this order: fills its own .bss (1 MiB) and .data (256 KiB); mallocs
 * (the library's first look at the loaded objects comes with the heap);
 * dlopens CRYPTOLIB and fills its .bss; then dlopens LATELIB, fills its
 * .bss and makes what -t names (a thread, joined; or a 1 MiB anonymous
 * mmap): a point where the library looks again. Region i is filled with
 * the pattern of SEED * 64 + i: equal seeds give equal pages, every page
 * distinct within one process.
 *
 * Prints "region I NAME ADDR LEN" per region (0 bss, 1 data, 2 relro: a
 * table of pointers in RELRO, 3 crypto, 4 late), "errno CALL N" after each
 * call that succeeded (errno as the call left it, set to 4242 before), then
 * "ready". On SIGUSR1 it dlcloses LATELIB and prints "closed". On SIGUSR2
 * it forks, and the child (of a multithreaded process with -t thread: one
 * that must not walk the loaded objects) dlcloses LATELIB, prints
 * "forkclosed PID" and waits, dying with its parent. It waits until
 * killed.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#define PAGE 4096

static unsigned char own_bss[1u << 20] __attribute__((aligned(PAGE)));
static unsigned char own_data[256u << 10] __attribute__((aligned(PAGE))) = { 1 };
static const char *const relro[512] = { "ksmp-data", "relro", "table" };
static volatile sig_atomic_t close_req, fork_req;

/* Each page: a header unique to this test, then a xorshift stream. */
static void fill(unsigned char *p, size_t len, unsigned seed)
{
	for (size_t pg = 0; pg < len / PAGE; pg++) {
		uint64_t x = ((uint64_t)seed << 32 | pg) * 0x9e3779b97f4a7c15ull | 1;
		unsigned char *q = p + pg * PAGE;
		for (size_t i = 0; i < PAGE; i += 8) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			memcpy(q + i, &x, 8);
		}
		snprintf((char *)q, 48, "ksmp-data seed %u page %zu", seed, pg);
	}
}

static void region(int i, const char *name, const void *p, size_t len)
{
	printf("region %d %s %lx %zu\n", i, name, (unsigned long)p + len / 2, len);
}

static void *nothing(void *arg)
{
	return arg;
}

static void *load(const char *path, int i, const char *name, unsigned seed)
{
	errno = 4242;
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "ksmp-data: %s\n", dlerror());
		exit(1);
	}
	printf("errno dlopen-%s %d\n", name, errno);
	unsigned char *(*get)(size_t *) =
		(unsigned char *(*)(size_t *))dlsym(h, "ksmp_data_bss");
	size_t len = 0;
	unsigned char *b = get ? get(&len) : NULL;
	if (!b)
		exit(1);
	fill(b, len, seed * 64 + (unsigned)i);
	region(i, name, b, len);
	return h;
}

static void on_usr1(int sig)
{
	(void)sig;
	close_req = 1;
}

static void on_usr2(int sig)
{
	(void)sig;
	fork_req = 1;
}

/* The child dlcloses LATELIB; it ends with its parent. */
static void fork_close(void *late)
{
	pid_t parent = getpid();
	fflush(stdout);
	pid_t c = fork();
	if (c != 0) {
		if (c < 0)
			perror("ksmp-data: fork");
		return;
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	if (late)
		dlclose(late);
	printf("forkclosed %d\n", (int)getpid());
	fflush(stdout);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	unsigned seed = 1;
	const char *trigger = "thread";
	int c;
	while ((c = getopt(argc, argv, "s:t:")) != -1) {
		if (c == 's')
			seed = (unsigned)strtoul(optarg, NULL, 0);
		else if (c == 't')
			trigger = optarg;
		else
			return 2;
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: ksmp-data [-s SEED] [-t thread|mmap] CRYPTOLIB LATELIB\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGUSR1, on_usr1);
	signal(SIGUSR2, on_usr2);
	fill(own_bss, sizeof(own_bss), seed * 64);
	fill(own_data, sizeof(own_data), seed * 64 + 1);
	region(0, "bss", own_bss, sizeof(own_bss));
	region(1, "data", own_data, sizeof(own_data));
	region(2, "relro", relro, sizeof(relro));
	errno = 4242;
	void *m = malloc(64);
	printf("errno malloc %d %d\n", errno, m != NULL);
	load(argv[optind], 3, "crypto", seed);
	void *late = load(argv[optind + 1], 4, "late", seed);
	errno = 4242;
	if (!strcmp(trigger, "mmap")) {
		void *p = mmap(NULL, 1u << 20, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		printf("errno mmap %d %d\n", errno, p != MAP_FAILED);
	} else {
		pthread_t t;
		int r = pthread_create(&t, NULL, nothing, NULL);
		printf("errno pthread_create %d %d\n", errno, r);
		if (!r)
			pthread_join(t, NULL);
	}
	printf("ready\n");
	for (;;) {
		while (!close_req && !fork_req)
			usleep(20000);
		if (fork_req) {
			fork_req = 0;
			fork_close(late);
			continue;
		}
		close_req = 0;
		if (late) {
			errno = 4242;
			int r = dlclose(late);
			printf("errno dlclose %d %d\n", errno, r);
			late = NULL;
		}
		printf("closed\n");
	}
}
