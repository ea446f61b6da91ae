/*
 * estimate_hold - a target for `ksmpreload estimate` tests and benchmarks:
 * holds a known amount of memory of every kind, then waits to be killed.
 *
 *   estimate_hold [-s SEED] [-d DUP] [-z ZERO] [-u UNIQUE] [-r REPEAT]
 *                 [-M DUP,ZERO,UNIQUE] [-f RO] [-t SECONDS]
 *
 * In each of: the brk heap, a malloc arena (a second thread's), that
 * thread's stack, the main [stack], an anonymous mmap and a private file
 * mapping, it writes DUP pages whose contents depend only on SEED and the
 * kind (so equal across processes run with the same SEED, every page
 * distinct), ZERO all-zero pages and UNIQUE pages that depend on the pid.
 * The mmap also holds REPEAT copies of one page unique to this process;
 * -M gives the mmap its own counts (for big targets). The file mapping
 * also has RO pages that are only read (page cache, not private). Prints
 * "ready mmap=ADDR file=ADDR" on stdout, then sleeps until killed, its
 * parent dies or SECONDS (default 300) pass.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#define PG 4096
#define STACK_MAX 64	/* pages each stack may hold */

enum { KH, KA, KT, KS, KM, KF };	/* kinds: seeds differ per kind */

static uint64_t seed = 1;
static size_t nd = 8, nz = 4, nu = 4, nr = 0, nro = 4;
static size_t md, mz, mu;
static pthread_mutex_t mu_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int thread_ready;

/* xorshift fill: every page in the buffer distinct, same for equal seeds */
static void fill(void *buf, size_t len, uint64_t s)
{
	uint64_t x = s * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
	uint64_t *w = buf;
	for (size_t i = 0; i < len / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		w[i] = x;
	}
}

/* DUP, ZERO, UNIQUE pages laid out in that order from p. */
static void put(char *p, int kind, size_t d, size_t z, size_t u)
{
	fill(p, d * PG, seed * 64 + (uint64_t)kind);
	memset(p + d * PG, 0, z * PG);
	fill(p + (d + z) * PG, u * PG,
	     ((uint64_t)getpid() << 24) ^ (seed * 64 + (uint64_t)kind + 0x5A5A00));
}

static void fail(const char *what)
{
	fprintf(stderr, "estimate_hold: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void *thread_main(void *arg)
{
	(void)arg;
	size_t n = nd + nz + nu;
	void *a = NULL;
	/* the thread's first malloc creates an arena of its own */
	if (n && posix_memalign(&a, PG, n * PG))
		fail("arena memalign");
	if (n)
		put(a, KA, nd, nz, nu);
	char st[STACK_MAX * PG] __attribute__((aligned(PG)));
	put(st, KT, nd, nz, nu);
	pthread_mutex_lock(&mu_lock);
	thread_ready = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu_lock);
	for (;;) {
		pause();
		__asm__ volatile("" : : "r"(st) : "memory");
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int c;
	unsigned secs = 300;
	while ((c = getopt(argc, argv, "s:d:z:u:r:M:f:t:")) != -1) {
		switch (c) {
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'd': nd = strtoul(optarg, NULL, 0); break;
		case 'z': nz = strtoul(optarg, NULL, 0); break;
		case 'u': nu = strtoul(optarg, NULL, 0); break;
		case 'r': nr = strtoul(optarg, NULL, 0); break;
		case 'f': nro = strtoul(optarg, NULL, 0); break;
		case 't': secs = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'M':
			if (sscanf(optarg, "%zu,%zu,%zu", &md, &mz, &mu) != 3) {
				fprintf(stderr, "estimate_hold: -M DUP,ZERO,UNIQUE\n");
				return 2;
			}
			break;
		default:
			return 2;
		}
	}
	if (!md && !mz && !mu) {
		md = nd;
		mz = nz;
		mu = nu;
	}
	size_t n = nd + nz + nu;
	if (n + 2 > STACK_MAX) {
		fprintf(stderr, "estimate_hold: at most %d pages per kind\n", STACK_MAX - 2);
		return 2;
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm(secs);

	/* brk heap: below the mmap threshold so the main arena serves it */
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	void *h = NULL;
	if (n && posix_memalign(&h, PG, n * PG))
		fail("heap memalign");
	if (n)
		put(h, KH, nd, nz, nu);

	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setstacksize(&at, (STACK_MAX + 64) * PG);
	pthread_t t;
	if ((errno = pthread_create(&t, &at, thread_main, NULL)))
		fail("pthread_create");
	pthread_mutex_lock(&mu_lock);
	while (!thread_ready)
		pthread_cond_wait(&cv, &mu_lock);
	pthread_mutex_unlock(&mu_lock);

	char st[STACK_MAX * PG] __attribute__((aligned(PG)));
	put(st, KS, nd, nz, nu);

	size_t mn = md + mz + mu + nr;
	char *m = mmap(NULL, mn * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		fail("mmap");
	madvise(m, mn * PG, MADV_NOHUGEPAGE);	/* keep VMA and pages 4K */
	put(m, KM, md, mz, mu);
	for (size_t i = 0; i < nr; i++)
		fill(m + (md + mz + mu + i) * PG, PG,
		     ((uint64_t)getpid() << 24) ^ (seed * 64 + 0x77));

	/* private file mapping: n written pages (private copies), nro pages
	 * only read (page cache, never private) */
	char tmpl[] = "/tmp/estimate_hold.XXXXXX";
	int fd = mkstemp(tmpl);
	if (fd < 0)
		fail("mkstemp");
	unlink(tmpl);
	size_t fn = n + nro;
	char *page = malloc(PG);
	if (!page)
		fail("malloc");
	for (size_t i = 0; i < fn; i++) {
		fill(page, PG, seed * 64 + 0x33 + i * 4096);
		if (write(fd, page, PG) != PG)
			fail("write");
	}
	free(page);
	char *f = mmap(NULL, fn * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (f == MAP_FAILED)
		fail("mmap file");
	close(fd);
	put(f, KF, nd, nz, nu);
	volatile char sink = 0;
	for (size_t i = n; i < fn; i++)
		sink ^= f[i * PG];
	(void)sink;

	printf("ready mmap=%" PRIxPTR " file=%" PRIxPTR "\n", (uintptr_t)m,
	       (uintptr_t)f);
	fflush(stdout);
	for (;;) {
		pause();
		__asm__ volatile("" : : "r"(st) : "memory");
	}
}
