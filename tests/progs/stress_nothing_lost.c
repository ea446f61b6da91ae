/*
 * stress_nothing_lost - known data in several processes and threads, let
 * KSM merge it, keep writing while forking (and while mergefs toggles
 * merge/unmerge from outside: tests/safety/stress_nothing_lost.sh), and verify
 * every byte.
 *
 *   stress_nothing_lost SEED PROCS THREADS KIB SECONDS
 *
 * Every thread of every process owns an mmap buffer and a malloc buffer of
 * KIB KiB each, filled with the same seeded pattern in every process (so
 * KSM merges them across processes). Each 64-byte line of each page has a
 * version; its content is a function of (seed, thread, page, line,
 * version), so the expected content of the whole buffer is always known.
 * After the merge the threads rewrite random lines (bumping versions),
 * spot-check pages, and at the end check every byte. Meanwhile the main
 * thread forks every 150 ms a child that checks its snapshot of every
 * buffer, writes to it, and checks it again. Output:
 *   "go MERGED"  once every process saw merging (MERGED pages in total)
 *   "done procs P threads T bytes B writes W forks F bad X merged M"
 * Exit status 0 only if no byte was wrong, nothing crashed and every
 * fork child passed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096
#define LINE 64
#define LINES (PAGE / LINE)

struct buf {
	unsigned char *p;
	size_t pages;
	uint32_t *ver;		/* pages * LINES versions */
	uint64_t salt;
};

struct thr {
	pthread_t tid;
	int idx;
	struct buf b[2];	/* mmap, malloc */
	uint64_t writes, bad;
	uint64_t rng;
};

/* shared between the processes (MAP_SHARED before fork) */
struct shared {
	volatile long merged[64];
	volatile int ready;
	volatile int go;
	volatile int stop;
};

static uint64_t seed;
static int nthreads;
static size_t kib;
static struct thr *thr;
static struct shared *sh;
static pthread_rwlock_t fork_lock;

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void line_fill(const struct buf *b, size_t pg, unsigned ln, uint32_t v,
		      unsigned char *out)
{
	uint64_t k = mix(seed ^ b->salt ^ ((uint64_t)pg << 16) ^ ((uint64_t)ln << 8) ^
			 ((uint64_t)v << 40));
	for (unsigned i = 0; i < LINE; i += 8) {
		k = mix(k);
		memcpy(out + i, &k, 8);
	}
}

static uint64_t page_check(const struct buf *b, size_t pg)
{
	unsigned char want[LINE];
	uint64_t bad = 0;
	for (unsigned ln = 0; ln < LINES; ln++) {
		line_fill(b, pg, ln, b->ver[pg * LINES + ln], want);
		if (memcmp(b->p + pg * PAGE + ln * LINE, want, LINE))
			bad++;
	}
	return bad;
}

static uint64_t buf_check(const struct buf *b)
{
	uint64_t bad = 0;
	for (size_t pg = 0; pg < b->pages; pg++)
		bad += page_check(b, pg);
	return bad;
}

static void buf_write(struct buf *b, uint64_t r)
{
	size_t pg = (r >> 8) % b->pages;
	unsigned ln = r % LINES;
	uint32_t v = ++b->ver[pg * LINES + ln];
	line_fill(b, pg, ln, v, b->p + pg * PAGE + ln * LINE);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int buf_init(struct buf *b, int kind, int idx)
{
	size_t len = kib * 1024;
	b->pages = len / PAGE;
	b->salt = mix((uint64_t)idx * 2 + (uint64_t)kind);
	if (kind == 0) {
		b->p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (b->p == MAP_FAILED)
			return -1;
	} else {
		b->p = malloc(len);
		if (!b->p)
			return -1;
	}
	b->ver = calloc(b->pages * LINES, sizeof(uint32_t));
	if (!b->ver)
		return -1;
	for (size_t pg = 0; pg < b->pages; pg++)
		for (unsigned ln = 0; ln < LINES; ln++)
			line_fill(b, pg, ln, 0, b->p + pg * PAGE + ln * LINE);
	return 0;
}

static void *thread_main(void *arg)
{
	struct thr *t = arg;
	while (!sh->go && !sh->stop)
		usleep(5000);
	while (!sh->stop) {
		pthread_rwlock_rdlock(&fork_lock);
		for (int i = 0; i < 64; i++) {
			uint64_t r = rnd(&t->rng);
			buf_write(&t->b[r & 1], r >> 1);
			t->writes++;
		}
		uint64_t r = rnd(&t->rng);
		struct buf *b = &t->b[r & 1];
		t->bad += page_check(b, (r >> 1) % b->pages);
		pthread_rwlock_unlock(&fork_lock);
		usleep(500);
	}
	return NULL;
}

static long self_merging(void)
{
	FILE *f = fopen("/proc/self/ksm_merging_pages", "r");
	long v = -1;
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* A fork child: check the snapshot, scribble, check again. */
static int fork_child(void)
{
	uint64_t bad = 0, s = seed | 1;
	for (int i = 0; i < nthreads; i++)
		for (int k = 0; k < 2; k++)
			bad += buf_check(&thr[i].b[k]);
	for (int n = 0; n < 2000; n++) {
		uint64_t r = rnd(&s);
		buf_write(&thr[r % nthreads].b[(r >> 8) & 1], r >> 9);
	}
	for (int i = 0; i < nthreads; i++)
		for (int k = 0; k < 2; k++)
			bad += buf_check(&thr[i].b[k]);
	return bad ? 1 : 0;
}

static int worker(int pidx, int seconds)
{
	pthread_rwlockattr_t a;
	pthread_rwlockattr_init(&a);
	pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&fork_lock, &a);
	thr = calloc((size_t)nthreads, sizeof(*thr));
	if (!thr)
		return 2;
	for (int i = 0; i < nthreads; i++) {
		thr[i].idx = i;
		thr[i].rng = mix(seed + (uint64_t)pidx * 1000 + (uint64_t)i) | 1;
		if (buf_init(&thr[i].b[0], 0, i) || buf_init(&thr[i].b[1], 1, i))
			return 2;
		if (pthread_create(&thr[i].tid, NULL, thread_main, &thr[i]))
			return 2;
	}
	/* wait for KSM to merge half of our pages (bounded: 8 s) */
	long m = 0, want = (long)(kib / 4) * nthreads;
	for (int i = 0; i < 800 && m < want; i++) {
		m = self_merging();
		if (m < want)
			usleep(10000);
	}
	sh->merged[pidx] = m;
	__atomic_fetch_add(&sh->ready, 1, __ATOMIC_SEQ_CST);
	while (!sh->go && !sh->stop)
		usleep(5000);
	int forks = 0, fork_bad = 0;
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= seconds)
			break;
		usleep(150000);
		pthread_rwlock_wrlock(&fork_lock);
		pid_t c = fork();
		if (c == 0)
			_exit(fork_child());
		pthread_rwlock_unlock(&fork_lock);
		if (c > 0) {
			int st;
			forks++;
			if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st))
				fork_bad++;
		}
	}
	sh->stop = 1;
	uint64_t bad = 0, writes = 0;
	for (int i = 0; i < nthreads; i++) {
		pthread_join(thr[i].tid, NULL);
		bad += thr[i].bad;
		writes += thr[i].writes;
		for (int k = 0; k < 2; k++)
			bad += buf_check(&thr[i].b[k]);
	}
	printf("proc %d writes %llu forks %d forkbad %d bad %llu merged %ld\n", pidx,
	       (unsigned long long)writes, forks, fork_bad, (unsigned long long)bad, m);
	fflush(stdout);
	for (int i = 0; i < nthreads; i++) {
		munmap(thr[i].b[0].p, kib * 1024);
		free(thr[i].b[1].p);
		free(thr[i].b[0].ver);
		free(thr[i].b[1].ver);
	}
	free(thr);
	return bad || fork_bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: stress_nothing_lost SEED PROCS THREADS KIB SECONDS\n");
		return 2;
	}
	seed = strtoull(argv[1], NULL, 0);
	int procs = atoi(argv[2]);
	nthreads = atoi(argv[3]);
	kib = strtoul(argv[4], NULL, 0) & ~(size_t)3;
	int seconds = atoi(argv[5]);
	if (procs < 1 || procs > 64 || nthreads < 1 || kib < 4)
		return 2;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 2;
	pid_t pids[64];
	for (int i = 0; i < procs; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(worker(i, seconds));
		if (pids[i] < 0)
			return 2;
	}
	for (int i = 0; i < 3000 && sh->ready < procs; i++)
		usleep(10000);
	long merged = 0;
	for (int i = 0; i < procs; i++)
		merged += sh->merged[i] > 0 ? sh->merged[i] : 0;
	printf("go %ld\n", merged);
	fflush(stdout);
	sh->go = 1;
	int fail = 0;
	for (int i = 0; i < procs; i++) {
		int st;
		if (waitpid(pids[i], &st, 0) != pids[i] || !WIFEXITED(st) || WEXITSTATUS(st))
			fail++;
	}
	printf("done procs %d threads %d bytes %zu fail %d merged %ld\n", procs, nthreads,
	       (size_t)procs * (size_t)nthreads * kib * 2048, fail, merged);
	return fail ? 1 : 0;
}
