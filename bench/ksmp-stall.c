/*
 * ksmp-stall - how long reading a target's memory state, and commanding
 * its agent, stalls the target (issue 13: "no measurement stalls the
 * target more than 5 ms"), side by side in one run. bench/stall_bench.sh
 * runs both parts and puts them in bench/results.md.
 *
 *   ksmp-stall sources MIB SECS ROUNDS
 *	A target (forked, no library) holds MIB MiB of populated anonymous
 *	memory, every page its own content, and a thread times mmap+munmap
 *	of one page (both need the target's mmap write lock) every 50 us.
 *	Meanwhile this process reads, SECS seconds per source, over and
 *	over: nothing (the baseline); /proc/PID/pagemap 512 entries (2 MiB)
 *	per pread, back to back, and with a 50 us pause after each as
 *	mergefs/auto.c's measure() does; pagemap and
 *	/proc/kpageflags for every present PFN, as mergefs/unmerge.c does;
 *	/proc/PID/smaps; /proc/PID/smaps_rollup; /proc/PID/ksm_stat. Per
 *	source: the median over ROUNDS of the worst, p99.9 and p99
 *	mmap+munmap, and the reader's own cost per pass.
 *
 *   ksmp-stall agent LIB MIB CAP KSM ROUNDS
 *	A target run with LIB preloaded under `mode auto` (merge mmap
 *	min=1M; auto-vmas 0 and auto-reprobe 86400, so that no mergefs
 *	controller on the host acts on it) maps MIB MiB, advised by the library as one record: the
 *	first MIB - CAP MiB distinct, then CAP MiB whose first KSM pages
 *	are alike (ksmd merges them: run under tests/ksm-hold). This
 *	process sends the agent KSMP_CMD_RANGE_PRUNE and _PROBE of 2 MiB,
 *	CAP MiB and MIB - CAP MiB of distinct pages, and of the CAP MiB
 *	with the KSM pages, as mergefs's controller does (the control
 *	protocol of include/ksmp_state.h, with
 *	the block mapped through /proc/PID/map_files: needs root) and
 *	measures from the target's side: the largest gap of a target thread
 *	that spins on clock_gettime and alone takes the signal (the handler
 *	runs on it), with the thread's CPU time over that gap (the handler's
 *	own work; the rest is waiting for a CPU), and the worst mmap+munmap
 *	of another target thread (the mmap lock). KSMP_CMD_PING gives the
 *	fixed cost of a command.
 *
 * Nothing is judged: it prints numbers. The targets die with this
 * process (PR_SET_PDEATHSIG) and are killed by pid at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ksmp_state.h"
#include "policy.h"
#include "ksmtest.h"

#define HIST_US		100000		/* 1 us buckets up to 100 ms */
#define NGAPS		4096
#define GAP_MIN_NS	20000		/* spinner gaps recorded: > 20 us */
#define SHM_FD		3		/* the exec'd target's shared block */
#define PM_PRESENT	(1ull << 63)
#define PM_PFN		((1ull << 55) - 1)
#define MAXR		16		/* rounds kept */
#define PACE_US		50		/* mergefs/auto.c: PM_PAUSE_US */

struct gap {
	uint64_t start, end, cpu;
};

struct shm {
	volatile uint32_t want;		/* 0: pause; else the epoch to record */
	volatile uint32_t mm_ack, spin_ack, quit, ready;
	uint64_t addr, len;
	uint64_t mm_n, mm_max;		/* mmap+munmap: count, worst (ns) */
	uint32_t hist[HIST_US + 1];	/* ... per us, the last: longer */
	uint32_t ngaps;
	struct gap gaps[NGAPS];
};

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t mono(void)
{
	return now_ns(CLOCK_MONOTONIC);
}

static void sleep_us(unsigned us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };
	nanosleep(&ts, NULL);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	return n ? v[(n - 1) / 2] : 0;
}

static uint64_t maxof(const uint64_t *v, int n)
{
	uint64_t m = 0;
	for (int i = 0; i < n; i++)
		m = v[i] > m ? v[i] : m;
	return m;
}

/* ------------------------------------------------------------- target */

static struct shm *sh;
/* agent: the range of the KSM rows and of the middle rows (the controller's
 * cap); the alike pages start that far below the end of the target. */
static uint64_t cap;

/* Times mmap+munmap of a page (the mmap write lock, twice) every 50 us,
 * into sh's histogram while sh->want asks. */
static void *mm_loop(void *arg)
{
	(void)arg;
	uint32_t seen = 0;
	while (!sh->quit) {
		uint32_t w = sh->want;
		if (w != seen) {
			if (w) {
				sh->mm_n = sh->mm_max = 0;
				memset(sh->hist, 0, sizeof(sh->hist));
			}
			seen = w;
			__atomic_store_n(&sh->mm_ack, w, __ATOMIC_RELEASE);
		}
		uint64_t t0 = mono();
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != MAP_FAILED)
			munmap(p, 4096);
		uint64_t d = mono() - t0;
		if (seen) {
			sh->mm_n++;
			sh->mm_max = d > sh->mm_max ? d : sh->mm_max;
			sh->hist[d / 1000 < HIST_US ? d / 1000 : HIST_US]++;
		}
		sleep_us(50);
	}
	return NULL;
}

/* Spins on the clock; a gap (the control signal's handler runs on this
 * thread, the only one not blocking real-time signals) is recorded with
 * the thread's CPU time over it. */
static void *spin_loop(void *arg)
{
	(void)arg;
	sigset_t rt;
	sigemptyset(&rt);
	for (int s = SIGRTMIN; s <= SIGRTMAX; s++)
		sigaddset(&rt, s);
	pthread_sigmask(SIG_UNBLOCK, &rt, NULL);
	uint32_t seen = 0;
	uint64_t prev = mono(), pcpu = now_ns(CLOCK_THREAD_CPUTIME_ID);
	while (!sh->quit) {
		uint64_t t = mono(), cpu = now_ns(CLOCK_THREAD_CPUTIME_ID);
		uint32_t w = sh->want;
		if (w != seen) {
			if (w)
				sh->ngaps = 0;
			seen = w;
			__atomic_store_n(&sh->spin_ack, w, __ATOMIC_RELEASE);
		} else if (seen && t - prev > GAP_MIN_NS && sh->ngaps < NGAPS) {
			sh->gaps[sh->ngaps++] = (struct gap){ prev, t, cpu - pcpu };
		}
		prev = t;
		pcpu = cpu;
	}
	return NULL;
}

/* Fill: every page its own content (from the pid and the time: alike no
 * other page on the host), except pages [alike, alike + nalike): equal
 * to each other, and to nothing else. */
static void fill(unsigned char *m, size_t len, size_t alike, size_t nalike)
{
	ksmt_fill(m, len, (uint64_t)getpid() << 32 ^ mono());
	for (size_t pg = alike + 1; pg < alike + nalike && pg < len / 4096; pg++)
		memcpy(m + pg * 4096, m + alike * 4096, 4096);
}

static int target(size_t mib, size_t nalike, int spin)
{
	size_t len = mib << 20;
	unsigned char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 1;
	fill(mem, len, (len - cap) / 4096, nalike);
	sigset_t rt;
	sigemptyset(&rt);
	for (int s = SIGRTMIN; s <= SIGRTMAX; s++)
		sigaddset(&rt, s);
	pthread_sigmask(SIG_BLOCK, &rt, NULL);	/* the spinner alone takes them */
	pthread_t a, b;
	if (pthread_create(&a, NULL, mm_loop, NULL) ||
	    (spin && pthread_create(&b, NULL, spin_loop, NULL)))
		return 1;
	sh->addr = (uint64_t)(uintptr_t)mem;
	sh->len = len;
	__atomic_store_n(&sh->ready, 1, __ATOMIC_RELEASE);
	while (!sh->quit)
		sleep_us(100000);
	return 0;
}

/* ------------------------------------------------------------- driver */

static pid_t tpid;

static struct shm *shm_new(int *fd)
{
	*fd = memfd_create("ksmp-stall", 0);
	if (*fd < 0 || ftruncate(*fd, sizeof(struct shm)) < 0)
		return NULL;
	void *p = mmap(NULL, sizeof(struct shm), PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* Record from now on (a fresh epoch), or pause (want 0); wait for the
 * target's threads to follow. */
static void record(uint32_t want, int spin)
{
	sh->want = want;
	uint64_t t0 = mono();
	while ((sh->mm_ack != want || (spin && sh->spin_ack != want)) &&
	       mono() - t0 < 2000000000ull)
		sleep_us(200);
}

static int wait_ready(void)
{
	for (int i = 0; i < 1200 && !sh->ready; i++)
		sleep_us(50000);
	return sh->ready ? 0 : -1;
}

static void stop_target(void)
{
	if (sh)
		sh->quit = 1;
	if (tpid > 0) {
		sleep_us(200000);
		kill(tpid, SIGKILL);
		waitpid(tpid, NULL, 0);
		tpid = 0;
	}
}

/* Latency at quantile q (0.99, 0.999) of the histogram, us. */
static uint64_t quantile(double q)
{
	uint64_t want = (uint64_t)((double)sh->mm_n * q), n = 0;
	for (uint64_t i = 0; i <= HIST_US; i++) {
		n += sh->hist[i];
		if (n > want)
			return i;
	}
	return HIST_US;
}

/* ---------------------------------------------------- part 1: sources */

enum { S_NONE, S_PAGEMAP, S_PACED, S_KPAGEFLAGS, S_SMAPS, S_ROLLUP, S_KSMSTAT, S_COUNT };
static const char *const sname[S_COUNT] = {
	"none (baseline)", "pagemap, 2 MiB per pread, back to back",
	"pagemap, 2 MiB per pread, 50 us pause after each (auto.c)",
	"pagemap + kpageflags per PFN (unmerge.c)", "smaps",
	"smaps_rollup", "ksm_stat",
};

/* Read all of a /proc file; the number of VMAs in it (VmFlags lines). */
static long read_all(const char *path)
{
	static char buf[1 << 16];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	long vmas = 0;
	ssize_t r;
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		for (char *p = buf; (p = memmem(p, (size_t)(buf + r - p), "VmFlags:", 8)); p += 8)
			vmas++;
	close(fd);
	return vmas;
}

/* One pass of source s over the target; its VMAs for smaps. */
static long pass(int s, int kpf)
{
	char path[64];
	uint64_t e[512];
	if (s == S_SMAPS || s == S_ROLLUP || s == S_KSMSTAT) {
		snprintf(path, sizeof(path), "/proc/%d/%s", (int)tpid,
			 s == S_SMAPS ? "smaps" : s == S_ROLLUP ? "smaps_rollup" : "ksm_stat");
		return read_all(path);
	}
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)tpid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (uint64_t a = sh->addr; a < sh->addr + sh->len; a += 2u << 20) {
		if (s == S_PACED && a > sh->addr)
			sleep_us(PACE_US);
		ssize_t r = pread(fd, e, sizeof(e), (off_t)(a / 4096 * 8));
		for (ssize_t i = 0; s == S_KPAGEFLAGS && i < r / 8; i++) {
			uint64_t f;
			if ((e[i] & PM_PRESENT) && (e[i] & PM_PFN) &&
			    pread(kpf, &f, 8, (off_t)((e[i] & PM_PFN) * 8)) != 8)
				break;
		}
	}
	close(fd);
	return 0;
}

struct row {
	uint64_t max[MAXR], p999[MAXR], p99[MAXR], cost[MAXR], cpu[MAXR];
	long vmas;
};

/* Source s for secs seconds: the target's latencies, the reader's cost
 * per pass (ns). */
static void run_source(int s, int secs, int kpf, struct row *rw, int k)
{
	uint64_t passes = 0, busy = 0, cpu = 0;
	record((uint32_t)(k * S_COUNT + s + 1), 0);
	uint64_t t0 = mono(), end = t0 + (uint64_t)secs * 1000000000ull;
	if (s == S_NONE)
		sleep_us((unsigned)secs * 1000000u);
	while (s != S_NONE && mono() < end) {
		uint64_t a = mono(), c = now_ns(CLOCK_THREAD_CPUTIME_ID);
		long v = pass(s, kpf);
		busy += mono() - a;
		cpu += now_ns(CLOCK_THREAD_CPUTIME_ID) - c;
		passes++;
		rw->vmas = v > rw->vmas ? v : rw->vmas;
		sleep_us(1000);	/* as a reader would: not back to back */
	}
	record(0, 0);
	rw->max[k] = sh->mm_max / 1000;
	rw->p999[k] = quantile(0.999);
	rw->p99[k] = quantile(0.99);
	rw->cost[k] = passes ? busy / passes : 0;
	rw->cpu[k] = passes ? cpu / passes : 0;
}

static void print_sources(const struct row *rows, size_t mib, int secs, int rounds)
{
	printf("sources: target %zu MiB populated anonymous (distinct pages), mmap+munmap "
	       "every 50 us; %d s per source, %d rounds; medians (in brackets: the worst round)\n",
	       mib, secs, rounds);
	printf("| source | mmap+munmap worst us | p99.9 us | p99 us | reader us per pass "
	       "(its CPU) | reader CPU us per GiB |\n|---|---|---|---|---|---|\n");
	for (int s = 0; s < S_COUNT; s++) {
		struct row r = rows[s];
		uint64_t mx = maxof(r.max, rounds), c = median(r.cost, rounds) / 1000;
		uint64_t u = median(r.cpu, rounds) / 1000;
		printf("| %s", sname[s]);
		if (s == S_SMAPS)
			printf(" (%ld VMAs: %llu us CPU per VMA, nearly all in the big one)",
			       r.vmas, (unsigned long long)(r.vmas > 0 ? u / (uint64_t)r.vmas : 0));
		printf(" | %llu (%llu) | %llu | %llu | ",
		       (unsigned long long)median(r.max, rounds), (unsigned long long)mx,
		       (unsigned long long)median(r.p999, rounds),
		       (unsigned long long)median(r.p99, rounds));
		if (s == S_NONE)
			printf("| |\n");
		else if (s == S_ROLLUP || s == S_KSMSTAT)
			printf("%llu (%llu) | |\n", (unsigned long long)c, (unsigned long long)u);
		else
			printf("%llu (%llu) | %llu |\n", (unsigned long long)c,
			       (unsigned long long)u, (unsigned long long)(u * 1024 / mib));
	}
}

static int sources(size_t mib, int secs, int rounds)
{
	static struct row rows[S_COUNT];
	int fd;
	if (!(sh = shm_new(&fd)))
		return 1;
	int kpf = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	tpid = fork();
	if (tpid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(target(mib, 0, 0));
	}
	if (tpid < 0 || wait_ready() < 0)
		return stop_target(), 1;
	for (int k = 0; k < rounds; k++)
		for (int i = 0; i < S_COUNT; i++) {
			int s = k % 2 ? S_COUNT - 1 - i : i;	/* alternate the order */
			run_source(s, secs, kpf, &rows[s], k);
		}
	stop_target();
	print_sources(rows, mib, secs, rounds);
	return 0;
}

/* ------------------------------------------------------ part 2: agent */

static struct ksmp_state *st;

/* Map the target's state block read-write (map_files: CAP_SYS_ADMIN). */
static int block_map(pid_t pid)
{
	char path[96], line[512];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	unsigned long lo = 0, hi = 0;
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "memfd:" KSMP_STATE_MEMFD_NAME) &&
		    sscanf(line, "%lx-%lx", &lo, &hi) == 2)
			break;
	if (f)
		fclose(f);
	if (hi <= lo)
		return -ENOENT;
	snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", (int)pid, lo, hi);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	void *p = mmap(NULL, hi - lo, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -errno;
	st = p;
	return hi - lo >= sizeof(*st) && st->magic == KSMP_STATE_MAGIC &&
	       st->version == KSMP_STATE_VERSION ? 0 : -EPROTO;
}

/* One command by the control protocol (include/ksmp_state.h), as
 * mergefs/sender.c sends it, without a nonce (we are root in the
 * target's namespace). Its result, or -ETIMEDOUT after 10 s. */
static int command(uint32_t cmd, uint64_t addr, uint64_t len)
{
	struct ksmp_ctl *c = &st->ctl;
	uint32_t last = __atomic_load_n(&c->req_seq, __ATOMIC_ACQUIRE) & ~KSMP_SEQ_WITHDRAWN;
	uint32_t ack = __atomic_load_n(&c->ack_seq, __ATOMIC_ACQUIRE) & ~KSMP_SEQ_WITHDRAWN;
	uint32_t req = ((last > ack ? last : ack) + 1) & ~KSMP_SEQ_WITHDRAWN;
	req = req ? req : 1;
	c->cmd = cmd;
	c->addr = addr;
	c->len = len;
	c->sender_uid = 0;
	c->result = 0;
	__atomic_store_n(&c->nonce, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&c->req_seq, req, __ATOMIC_RELEASE);
	union sigval v = { .sival_ptr = (void *)(uintptr_t)req };
	if (sigqueue(tpid, st->signo, v) < 0)
		return -errno;
	uint64_t t0 = mono();
	while ((ack = __atomic_load_n(&c->ack_seq, __ATOMIC_ACQUIRE)) != req &&
	       mono() - t0 < 10000000000ull) {
		struct timespec ts = { 0, 10000000 };
		syscall(SYS_futex, &c->ack_seq, FUTEX_WAIT, ack, &ts, NULL, 0);
	}
	if (ack != req) {
		__atomic_store_n(&c->req_seq, req | KSMP_SEQ_WITHDRAWN, __ATOMIC_RELEASE);
		return -ETIMEDOUT;
	}
	return __atomic_load_n(&c->result, __ATOMIC_ACQUIRE);
}

static long ksm_merging(void)
{
	return ksmt_stat(tpid, "ksm_merging_pages");
}

enum { C_PING, C_PRUNE2, C_PROBE2, C_PRUNE64, C_PROBE64, C_PRUNEBIG, C_PROBEBIG,
       C_PRUNEKSM, C_PROBEKSM, C_COUNT };

struct cmdrow {
	uint64_t rtt[MAXR], wall[MAXR], cpu[MAXR], mm[MAXR], ksm[MAXR];
	int fails;
};

/* Send one command while the target records; fill row k of cr. */
static void measure_cmd(uint32_t cmd, uint64_t addr, uint64_t len,
			struct cmdrow *cr, int k, uint32_t epoch)
{
	record(epoch, 1);
	sleep_us(5000);
	uint64_t t0 = mono();
	int r = command(cmd, addr, len);
	uint64_t t1 = mono();
	sleep_us(5000);		/* the other thread's stalled call returns */
	record(0, 1);
	if (r < 0 && r != -ENOENT) {
		fprintf(stderr, "ksmp-stall: command %u at %#llx+%llu: %s\n", cmd,
			(unsigned long long)addr, (unsigned long long)len, strerror(-r));
		cr->fails++;
	}
	struct gap g = { 0, 0, 0 };
	for (uint32_t i = 0; i < sh->ngaps && i < NGAPS; i++)
		if (sh->gaps[i].start < t1 && sh->gaps[i].end > t0 &&
		    sh->gaps[i].end - sh->gaps[i].start > g.end - g.start)
			g = sh->gaps[i];
	cr->rtt[k] = t1 - t0;
	cr->wall[k] = g.end - g.start;
	cr->cpu[k] = g.cpu;
	cr->mm[k] = sh->mm_max;
}

/* Wait (at most 90 s) until ksmd merged 90% of the alike pages. */
static long wait_merged(long want)
{
	long m = ksm_merging();
	for (int i = 0; i < 900 && m < want * 9 / 10; i++) {
		sleep_us(100000);
		m = ksm_merging();
	}
	return m;
}

static const char *const cname[C_COUNT] = {
	"PING", "PRUNE", "PROBE", "PRUNE", "PROBE", "PRUNE", "PROBE", "PRUNE", "PROBE",
};


static void print_agent(struct cmdrow *cr, int rounds, uint64_t big, long nalike)
{
	const uint64_t mib[C_COUNT] = { 0, 2, 2, cap >> 20, cap >> 20, big >> 20, big >> 20,
					cap >> 20, cap >> 20 };
	printf("| command | KSM pages in range | round trip ms | target thread stopped ms | "
	       "of which its CPU ms | another thread's mmap+munmap ms |\n"
	       "|---|---|---|---|---|---|\n");
	for (int c = 0; c < C_COUNT; c++) {
		uint64_t *v[4] = { cr[c].rtt, cr[c].wall, cr[c].cpu, cr[c].mm };
		printf("| %s", cname[c]);
		if (c)
			printf(" %llu MiB", (unsigned long long)mib[c]);
		if (c == C_PROBEKSM)
			printf(" (after the one above)");
		if (cr[c].fails)
			printf(" (%d failed)", cr[c].fails);
		if (c == C_PRUNEKSM)
			printf(" | %llu of %ld", (unsigned long long)median(cr[c].ksm, rounds), nalike);
		else
			printf(" | 0");
		for (int i = 0; i < 4; i++) {
			uint64_t mx = maxof(v[i], rounds);
			printf(" | %.3f (%.3f)", (double)median(v[i], rounds) / 1e6, (double)mx / 1e6);
		}
		printf(" |\n");
	}
}

/* One round: every command once, in the order of the table. */
static void agent_round(struct cmdrow *cr, int k, uint64_t big, long nalike)
{
	uint64_t a = sh->addr, b = sh->addr + sh->len - cap;
	const uint64_t lens[3] = { 2u << 20, cap, big };
	uint32_t e = (uint32_t)k * C_COUNT + 1;
	measure_cmd(KSMP_CMD_PING, 0, 0, &cr[C_PING], k, e++);
	for (int i = 0; i < 3; i++) {
		uint64_t len = lens[i];
		measure_cmd(KSMP_CMD_RANGE_PRUNE, a, len, &cr[C_PRUNE2 + 2 * i], k, e++);
		measure_cmd(KSMP_CMD_RANGE_PROBE, a, len, &cr[C_PROBE2 + 2 * i], k, e++);
	}
	cr[C_PRUNEKSM].ksm[k] = (uint64_t)wait_merged(nalike);
	measure_cmd(KSMP_CMD_RANGE_PRUNE, b, cap, &cr[C_PRUNEKSM], k, e++);
	measure_cmd(KSMP_CMD_RANGE_PROBE, b, cap, &cr[C_PROBEKSM], k, e++);
}

static int agent(const char *self, const char *lib, size_t mib, long nalike, int rounds)
{
	if (mib <= 2 * (cap >> 20))
		return 2;
	static struct cmdrow cr[C_COUNT];
	char pol[] = "/tmp/ksmp-stall.XXXXXX", arg1[32], arg2[32], arg3[32];
	int fd, pfd = mkstemp(pol);
	const char *text = "mode auto\nauto-vmas 0\nauto-reprobe 86400\nmerge mmap min=1M\n";
	if (pfd < 0)
		return 1;
	if (write(pfd, text, strlen(text)) < 0 || !(sh = shm_new(&fd))) {
		close(pfd);
		unlink(pol);	/* nothing left in /tmp */
		return 1;
	}
	close(pfd);
	snprintf(arg1, sizeof(arg1), "%zu", mib);
	snprintf(arg2, sizeof(arg2), "%ld", nalike);
	snprintf(arg3, sizeof(arg3), "%llu", (unsigned long long)(cap >> 20));
	tpid = fork();
	if (tpid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (dup2(fd, SHM_FD) < 0 || setenv("LD_PRELOAD", lib, 1) ||
		    setenv("KSMP_POLICY", pol, 1))
			_exit(1);
		execl(self, self, "target-agent", arg1, arg2, arg3, (char *)NULL);
		_exit(127);
	}
	int r = tpid < 0 || wait_ready() < 0 ? -1 : block_map(tpid);
	unlink(pol);
	if (r < 0 || !(st->flags & KSMP_STF_CONTROL) || st->mode != KSMP_MODE_AUTO) {
		fprintf(stderr, "ksmp-stall: no agent in mode auto in the target (%d)\n", r);
		return stop_target(), 1;
	}
	uint64_t big = sh->len - cap, before = st->ctl.commands;
	for (int k = 0; k < rounds; k++)
		agent_round(cr, k, big, nalike);
	uint64_t foreign = st->ctl.commands - before - (uint64_t)rounds * C_COUNT;
	stop_target();
	printf("agent: target %zu MiB under mode auto, %ld alike pages in the last %llu MiB; "
	       "%d rounds; medians (in brackets: the worst round)%s\n", mib, nalike,
	       (unsigned long long)(cap >> 20), rounds,
	       foreign ? "; OTHER SENDERS COMMANDED THE TARGET MEANWHILE" : "");
	print_agent(cr, rounds, big, nalike);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "target-agent")) {
		cap = (uint64_t)atol(argv[4]) << 20;
		sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED, SHM_FD, 0);
		return sh == MAP_FAILED ? 1 : target((size_t)atol(argv[2]), (size_t)atol(argv[3]), 1);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	int rounds = argc > 4 ? atoi(argv[argc - 1]) : 0;
	rounds = rounds > MAXR ? MAXR : rounds;
	if (argc == 5 && !strcmp(argv[1], "sources") && rounds > 0)
		return sources((size_t)atol(argv[2]), atoi(argv[3]), rounds);
	if (argc == 7 && !strcmp(argv[1], "agent") && rounds > 0 && atol(argv[4]) > 2) {
		cap = (uint64_t)atol(argv[4]) << 20;
		return agent("/proc/self/exe", argv[2], (size_t)atol(argv[3]), atol(argv[5]), rounds);
	}
	fprintf(stderr, "usage: ksmp-stall sources MIB SECS ROUNDS\n"
		"       ksmp-stall agent LIB MIB CAP_MIB KSM ROUNDS   (MIB > 2 CAP_MIB)\n");
	return 2;
}
