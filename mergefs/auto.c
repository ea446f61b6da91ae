/*
 * auto.c - the controller of mode auto: measures, per process whose
 * policy says `mode auto`, which of the memory the library advised KSM
 * actually merges, and has the library prune (MADV_UNMERGEABLE) what
 * does not, so that ksmd stops scanning it; pruned memory is probed again
 * (MADV_MERGEABLE) after a delay that doubles each time it still did not
 * merge, because contents change.
 *
 * Unit: chunks of the policy's auto-chunk (2 MiB), aligned, inside the
 * library's advised records (the region table in its state block).
 *
 * Measure: /proc/PID/pagemap, one 8-byte entry per page, read here (the
 * target runs nothing for it; the kernel holds its mmap lock per 2 MiB
 * of page table, a few microseconds: 3 ms of our CPU per GiB). Read back
 * to back, these reads starve a thread of the target that waits for the
 * mmap write lock (mmap, munmap, mprotect): the reader takes the lock
 * again before the woken writer runs, until the writer's hand-off
 * timeout. bench/ksmp-stall, 1 GiB target, four runs on 2 busy CPUs
 * (bench/results.md): its mmap+munmap took at worst 4-12 ms (p99.9 2-8.5
 * ms); with a PM_PAUSE_US pause after every 2 MiB read, 1-4.6 ms (p99.9
 * 0.06-0.56 ms; no reader: 0.1-1 ms, p99.9 0.02-0.03 ms), for 70 ms of
 * wall time per GiB. Not a bound: under load a single round of 3 s saw
 * 10 ms. A present page that is not "exclusively mapped" (bit 56) is
 * mapped more than once: a KSM page that saves memory (or a page still
 * shared with a fork parent). A chunk is pruned when it has present
 * pages, none of them shared, and ksmd finished JUDGE_SCANS full scans
 * since the chunk was advised or probed (a page needs two to merge).
 * This needs no kpageflags and no PFNs, and counts what saves memory: a
 * KSM page mapped once saves nothing and counts as not merging.
 *
 * Act: the control protocol's KSMP_CMD_RANGE_PRUNE / _PROBE (sender.c),
 * one range of adjacent chunks per command, at most MAX_CMD_BYTES, at
 * most MAX_CMDS commands per process and cycle. The library acts only on
 * records it advised itself. Pruned runs are limited by the policy's
 * auto-vmas: a run's end costs one VMA where a record goes on past it (the
 * VMA splits there), none where the records end (a record the run covers
 * whole, such as one of V8's 256 KiB pages, changes flags, not VMAs).
 *
 * Never: act while ksmd is stopped (nothing would merge), judge a chunk
 * before ksmd had its passes over it, or probe a chunk more often than
 * auto-reprobe seconds.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "mergefs.h"
#include "policy.h"

#define JUDGE_SCANS	3		/* full scans before a chunk is judged */
#define PLATEAU_SCANS	4		/* ... and the process's merging pages
					 * stood still for this many */
#define MAX_JUDGE_SCANS	16		/* ... or this many passed anyway */
#define MAX_LEVEL	6		/* reprobe delay: at most 64x the first */
#define MAX_CMDS	32		/* commands per process and cycle */
/* What one command may cost the target: the agent's madvise runs in its
 * signal handler, and MADV_UNMERGEABLE holds the mmap write lock.
 * Measured (bench/ksmp-stall, four runs, medians of 5 rounds): a prune
 * of 64 MiB without KSM pages 1.2-2.5 ms of the target's thread (256 MiB:
 * 3.4-6.0 ms), a probe 0.05 ms. KSM pages in the range cost more than
 * their copy (not the 2.5 us each assumed here before), most when many
 * share one KSM page: 64 MiB holding 1000 2.9-5.6 ms (a worst round 9.3
 * ms), holding 100 1.5-2.8 ms (worst round 3.5 ms). A chunk holding more
 * KSM pages than MAX_CMD_KSM is never pruned, and a chunk bigger than
 * MAX_CMD_BYTES is measured and pruned in pieces of that size (bounds()). */
#define MAX_CMD_BYTES	(64ull << 20)
#define MAX_CMD_KSM	100
#define PM_PAUSE_US	50		/* after each 2 MiB read of pagemap */
#define LOSS_DIV	50		/* prune at most 2% of the shared pages */
#define AUTO_LOCK	"/run/mergefs-auto.lock"
#define PM_PRESENT	(1ull << 63)
#define PM_EXCLUSIVE	(1ull << 56)

struct chunk {
	uint64_t addr;
	uint64_t since;		/* full_scans when advised or probed */
	uint64_t probe_at;	/* pruned: when to probe again (ms) */
	uint32_t present;	/* present pages now */
	uint32_t last;		/* present pages at the last look */
	uint32_t shared;	/* of which mapped more than once */
	uint32_t lost;		/* pruned: shared pages it had then */
	uint32_t changes;	/* times the library pruned or probed it for us */
	uint8_t eligible;	/* measured long enough to be judged */
	uint8_t pruned;
	uint8_t level;		/* times pruned in a row */
	uint8_t mark;		/* seen this cycle */
	uint8_t act;		/* this cycle: 1 prune, 2 probe */
	uint8_t cut_lo, cut_hi;	/* a run ending at its low (high) edge
				 * splits a VMA: a record goes on there */
	uint8_t starts, ends;	/* a record starts at its low edge, ends
				 * at its high edge */
};

struct proc {
	pid_t pid;
	uint64_t starttime;
	uint64_t commands;	/* ctl.commands after our last command */
	uint64_t shared;	/* Σ shared pages of the advised chunks */
	uint64_t lost;		/* Σ lost of the pruned chunks */
	long long merging;	/* ksm_merging_pages at the last look */
	uint64_t merging_since;	/* full_scans when it last changed */
	uint64_t first_ms;	/* when first seen */
	uint64_t prunes, probes;	/* its chunks pruned, probed (done: not -ENOENT) */
	uint32_t max_changes;	/* most changes of one chunk */
	struct chunk *c;	/* sorted by addr */
	size_t n, cap;
	int seen;
	struct proc *next;
};

/* The controller's thread alone changes procs; it links and unlinks them,
 * and counts, under totals_lock, which readers (auto_get_proc) take. */
static struct proc *procs;
static unsigned auto_ms;
static struct auto_totals totals;
static pthread_mutex_t totals_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static long long ksm_knob(const char *name)
{
	char path[96], buf[32];
	snprintf(path, sizeof(path), KSM_SYS "%s", name);
	return ksmp_read_small(path, buf, sizeof(buf)) > 0 ? atoll(buf) : -1;
}

/* Binary search among the first n (sorted) chunks. */
static struct chunk *find(struct proc *p, size_t n, uint64_t addr)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (p->c[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && p->c[lo].addr == addr ? &p->c[lo] : NULL;
}

static int by_addr(const void *a, const void *b)
{
	uint64_t x = ((const struct chunk *)a)->addr, y = ((const struct chunk *)b)->addr;
	return x < y ? -1 : x > y;
}

/* A chunk seen in an advised record: known, or new (since = now). */
static struct chunk *chunk_at(struct proc *p, uint64_t addr, uint64_t full,
			      int pruned, int *grew)
{
	struct chunk *c = find(p, p->n - (size_t)*grew, addr);
	if (!c) {
		for (size_t i = p->n - *grew; i < p->n; i++)
			if (p->c[i].addr == addr)
				return &p->c[i];
		if (p->n == p->cap) {
			size_t cap = p->cap ? p->cap * 2 : 256;
			struct chunk *nc = realloc(p->c, cap * sizeof(*nc));
			if (!nc)
				return NULL;
			p->c = nc;
			p->cap = cap;
		}
		c = &p->c[p->n++];
		memset(c, 0, sizeof(*c));
		c->addr = addr;
		c->since = full;
		c->pruned = (uint8_t)pruned;
		(*grew)++;
	}
	return c;
}

/* Read the policy's bounds from the block's canonical text. */
static void bounds(const struct ksmp_state *st, struct ksmp_policy *pol)
{
	static char text[KSMP_STATE_POLICY_TEXT + 1];
	uint32_t n = __atomic_load_n(&st->policy_text_len, __ATOMIC_ACQUIRE);
	if (n > KSMP_STATE_POLICY_TEXT)
		n = KSMP_STATE_POLICY_TEXT;
	memcpy(text, st->policy_text, n);
	text[n] = '\0';
	ksmp_policy_parse(pol, "state", text, n, NULL, NULL);
	if (pol->auto_chunk < 4096 || (pol->auto_chunk & (pol->auto_chunk - 1)))
		pol->auto_chunk = 2ull << 20;
	if (pol->auto_chunk > MAX_CMD_BYTES)	/* one command, one chunk at most */
		pol->auto_chunk = MAX_CMD_BYTES;
}

/* Entries read from pagemap since the last pause (the controller's
 * thread alone reads). */
static unsigned pm_unpaused;

/* Count present and shared pages of [a, a+len) from pagemap, at most
 * 2 MiB per read, with a pause after every 2 MiB read (PM_PAUSE_US: see
 * the top of the file). */
static int measure(int fd, uint64_t a, uint64_t len, unsigned *present,
		   unsigned *shared)
{
	uint64_t e[512];
	for (uint64_t off = 0; off < len;) {
		if (pm_unpaused >= 512) {
			struct timespec pause = { 0, PM_PAUSE_US * 1000 };
			nanosleep(&pause, NULL);
			pm_unpaused = 0;
		}
		uint64_t pages = (len - off) / 4096;
		if (pages > 512)
			pages = 512;
		ssize_t r = pread(fd, e, pages * 8, (off_t)((a + off) / 4096 * 8));
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		pm_unpaused += (unsigned)(r / 8);
		for (ssize_t i = 0; i < r / 8; i++) {
			if (!(e[i] & PM_PRESENT))
				continue;
			(*present)++;
			if (!(e[i] & PM_EXCLUSIVE))
				(*shared)++;
		}
		off += (uint64_t)r / 8 * 4096;
	}
	return 0;
}

/* Walk the advised records: learn the chunks, measure the mergeable
 * ones, mark what to prune. Returns chunks measured or -errno. */
static int survey(struct proc *p, const struct ksmp_state *st, uint64_t chunk,
		  uint64_t full, int fd)
{
	/* While pages of the process still come to merge (smart_scan lets
	 * ksmd skip a page for up to 8 scans after it failed to merge), a
	 * chunk without KSM pages may merge yet: wait for a plateau. */
	int settled = full >= p->merging_since + PLATEAU_SCANS;
	uint32_t nr = __atomic_load_n(&st->nregions_hint, __ATOMIC_ACQUIRE);
	if (nr > KSMP_STATE_REGIONS)
		nr = KSMP_STATE_REGIONS;
	int grew = 0, measured = 0;
	for (size_t i = 0; i < p->n; i++) {
		struct chunk *c = &p->c[i];
		c->mark = c->act = c->eligible = 0;
		c->cut_lo = c->cut_hi = c->starts = c->ends = 0;
		if (!c->pruned)
			c->present = c->shared = 0;
	}
	p->shared = 0;
	for (uint32_t i = 0; i < nr; i++) {
		const struct ksmp_region *r = &st->regions[i];
		uint32_t s1 = __atomic_load_n(&r->seq, __ATOMIC_ACQUIRE);
		uint8_t state = r->state;
		uint64_t start = r->start, len = r->len;
		if ((s1 & 1) || __atomic_load_n(&r->seq, __ATOMIC_ACQUIRE) != s1 ||
		    (state != KSMP_REGION_MERGEABLE && state != KSMP_REGION_PRUNED) ||
		    !len || start + len < start)
			continue;
		for (uint64_t a = start & ~(chunk - 1); a < start + len; a += chunk) {
			struct chunk *c = chunk_at(p, a, full,
						   state == KSMP_REGION_PRUNED, &grew);
			if (!c)
				return -ENOMEM;
			c->mark = 1;
			c->cut_lo |= start < a;
			c->cut_hi |= a + chunk < start + len;
			c->starts |= start == a;
			c->ends |= start + len == a + chunk;
			if (state == KSMP_REGION_PRUNED)
				continue;
			if (c->pruned) {	/* probed by someone else, or joined */
				p->lost -= c->lost;
				c->lost = c->pruned = 0;
				c->since = full;
			}
			uint64_t lo = a > start ? a : start;
			uint64_t hi = a + chunk < start + len ? a + chunk : start + len;
			unsigned present = 0, shared = 0;
			if (measure(fd, lo, hi - lo, &present, &shared) < 0)
				continue;
			measured++;
			c->present += present;
			c->shared += shared;
			p->shared += shared;
		}
	}
	if (grew)
		qsort(p->c, p->n, sizeof(*p->c), by_addr);
	/* forget chunks no record covers any more */
	size_t k = 0;
	for (size_t i = 0; i < p->n; i++) {
		if (p->c[i].mark)
			p->c[k++] = p->c[i];
		else
			p->lost -= p->c[i].lost;
	}
	p->n = k;
	/* two records that meet on a chunk's edge may be one VMA (ours,
	 * split by a prune, or adjacent mappings the kernel joined) */
	for (size_t i = 1; i < p->n; i++)
		if (p->c[i - 1].addr + chunk == p->c[i].addr &&
		    p->c[i - 1].ends && p->c[i].starts)
			p->c[i - 1].cut_hi = p->c[i].cut_lo = 1;
	for (size_t i = 0; i < p->n; i++) {
		struct chunk *c = &p->c[i];
		if (!c->mark || c->pruned)
			continue;
		if (c->present != c->last)	/* still being filled */
			c->since = full;
		c->last = c->present;
		c->eligible = c->present && full >= c->since + JUDGE_SCANS &&
			      (settled || full >= c->since + MAX_JUDGE_SCANS);
	}
	return measured;
}

static int adjacent(const struct proc *p, size_t i, size_t j, uint64_t chunk)
{
	return i < p->n && j < p->n && p->c[i].addr + chunk == p->c[j].addr;
}

/* VMAs the pruned runs add (adjacent pruned chunks are one run): one
 * for each end of a run inside a record. */
static unsigned vma_cost(const struct proc *p, uint64_t chunk)
{
	unsigned n = 0;
	for (size_t i = 0; i < p->n; i++) {
		if (!p->c[i].pruned)
			continue;
		if (!(i && adjacent(p, i - 1, i, chunk) && p->c[i - 1].pruned))
			n += p->c[i].cut_lo;
		if (!(adjacent(p, i, i + 1, chunk) && p->c[i + 1].pruned))
			n += p->c[i].cut_hi;
	}
	return n;
}

static const struct proc *sort_p;

/* Lowest density of shared pages first; then by address. */
static int by_density(const void *a, const void *b)
{
	const struct chunk *x = &sort_p->c[*(const size_t *)a];
	const struct chunk *y = &sort_p->c[*(const size_t *)b];
	uint64_t l = (uint64_t)x->shared * y->present, r = (uint64_t)y->shared * x->present;
	return l < r ? -1 : l > r ? 1 : x->addr < y->addr ? -1 : x->addr > y->addr;
}

/*
 * Decide probes and prunes. The eligible chunks are pruned in order of
 * rising density of shared pages (those with none first) while the shared
 * pages they hold stay within LOSS of all shared pages of the process,
 * pruned ones included: the smallest set of chunks that keeps the rest is
 * what ksmd then scans. A chunk judged and kept starts its back-off over.
 * Then the VMA budget: an end of a pruned run inside a record costs one,
 * joining a run costs nothing and joining two gives their ends back.
 */
static void plan(struct proc *p, uint64_t chunk, unsigned vmas, uint64_t now)
{
	size_t *order = malloc((p->n + 1) * sizeof(*order)), m = 0;
	if (!order)
		return;
	for (size_t i = 0; i < p->n; i++) {
		if (p->c[i].pruned && now >= p->c[i].probe_at)
			p->c[i].act = 2;
		if (p->c[i].eligible)
			order[m++] = i;
	}
	sort_p = p;
	qsort(order, m, sizeof(*order), by_density);
	uint64_t budget = (p->shared + p->lost) / LOSS_DIV;
	uint64_t spent = p->lost;
	size_t k = 0;
	for (; k < m; k++) {
		struct chunk *c = &p->c[order[k]];
		if (c->shared > MAX_CMD_KSM) {
			c->level = 0;	/* one prune may not copy that many */
			continue;
		}
		if (c->shared && spent + c->shared > budget)
			break;
		spent += c->shared;
		c->act = 1;
	}
	for (; k < m; k++)
		p->c[order[k]].level = 0;
	free(order);
	long have = vma_cost(p, chunk);
	for (size_t i = 0; i < p->n; i++) {
		struct chunk *c = &p->c[i];
		if (c->act != 1)
			continue;
		int left = i && adjacent(p, i - 1, i, chunk) &&
			   (p->c[i - 1].pruned || p->c[i - 1].act == 1);
		int right = adjacent(p, i, i + 1, chunk) && p->c[i + 1].pruned;
		long after = have + (left ? -c->cut_lo : c->cut_lo) +
			     (right ? -c->cut_hi : c->cut_hi);
		if (after > (long)vmas) {
			c->act = 0;
			continue;
		}
		have = after;
	}
}

/* Send the planned commands, one per run of chunks with the same act. */
static void act(struct proc *p, struct target *t, uint64_t chunk,
		unsigned reprobe, uint64_t full, uint64_t now)
{
	int cmds = 0;
	for (size_t i = 0; i < p->n && cmds < MAX_CMDS;) {
		int what = p->c[i].act;
		if (!what) {
			i++;
			continue;
		}
		size_t j = i + 1;
		uint64_t ksm = p->c[i].shared;
		while (j < p->n && p->c[j].act == what &&
		       p->c[j].addr == p->c[j - 1].addr + chunk &&
		       (j - i + 1) * chunk <= MAX_CMD_BYTES &&
		       (what == 2 || ksm + p->c[j].shared <= MAX_CMD_KSM))
			ksm += p->c[j++].shared;
		uint64_t addr = p->c[i].addr, len = p->c[j - 1].addr + chunk - addr;
		int r = target_command(t, what == 1 ? KSMP_CMD_RANGE_PRUNE :
				       KSMP_CMD_RANGE_PROBE, addr, len, 0, 1000);
		cmds++;
		if (r == 0 || r == -ENOENT) {
			pthread_mutex_lock(&totals_lock);
			for (size_t k = i; k < j; k++) {
				struct chunk *c = &p->c[k];
				/* -ENOENT: nothing of the library's there, no change */
				if (r == 0 && ++c->changes > p->max_changes)
					p->max_changes = c->changes;
				if (what == 1) {
					c->pruned = 1;
					c->lost = c->shared;
					p->lost += c->lost;
					c->probe_at = now + ((uint64_t)reprobe * 1000 << c->level);
					if (c->level < MAX_LEVEL)
						c->level++;
				} else {
					p->lost -= c->lost;
					c->lost = 0;
					c->pruned = 0;
					c->since = full;
				}
			}
			if (what == 1) {
				totals.prunes += j - i;
				p->prunes += r == 0 ? j - i : 0;
			} else {
				totals.probes += j - i;
				p->probes += r == 0 ? j - i : 0;
			}
			pthread_mutex_unlock(&totals_lock);
		} else if (r != -EBUSY) {
			i = p->n;	/* unmerged, gone, no agent: next cycle */
			continue;
		}
		i = j;
	}
	p->commands = __atomic_load_n(&t->st->ctl.commands, __ATOMIC_ACQUIRE);
}

static struct proc *proc_for(pid_t pid, uint64_t start)
{
	for (struct proc *p = procs; p; p = p->next)
		if (p->pid == pid && p->starttime == start)
			return p;
	struct proc *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	p->starttime = start;
	p->first_ms = now_ms();
	pthread_mutex_lock(&totals_lock);
	p->next = procs;
	procs = p;
	pthread_mutex_unlock(&totals_lock);
	return p;
}

int auto_get_proc(pid_t pid, uint64_t start, struct auto_proc *out)
{
	int r = -ENOENT;
	pthread_mutex_lock(&totals_lock);
	for (const struct proc *p = procs; p; p = p->next) {
		if (p->pid != pid || p->starttime != start)
			continue;
		out->prunes = p->prunes;
		out->probes = p->probes;
		out->max_changes = p->max_changes;
		out->followed_ms = now_ms() - p->first_ms;
		r = 0;
		break;
	}
	pthread_mutex_unlock(&totals_lock);
	return r;
}

struct cycle {
	uint64_t full, now;
};

static void one(struct cycle *cy, pid_t pid, long long merging)
{
	int err;
	struct target *t = target_get(pid, &err);
	if (!t)
		return;
	const struct ksmp_state *st = t->st;
	if (__atomic_load_n(&st->mode, __ATOMIC_ACQUIRE) != KSMP_MODE_AUTO ||
	    __atomic_load_n(&st->engine, __ATOMIC_ACQUIRE) != KSMP_ENGINE_REGIONS ||
	    !__atomic_load_n(&st->merge_state, __ATOMIC_ACQUIRE) ||
	    (__atomic_load_n(&st->flags, __ATOMIC_ACQUIRE) & KSMP_STF_PROCESS_INHERITED))
		goto out;	/* inherited whole-process merging: the admin's */
	struct proc *p = proc_for(pid, t->starttime);
	if (!p)
		goto out;
	p->seen = 1;
	if (merging != p->merging || !p->merging_since) {
		p->merging = merging;
		p->merging_since = cy->full;
	}
	/* Commands of others (unmerge, merge) re-advise: judge afresh. */
	uint64_t cmds = __atomic_load_n(&st->ctl.commands, __ATOMIC_ACQUIRE);
	if (p->n && cmds != p->commands)
		for (size_t i = 0; i < p->n; i++)
			p->c[i].since = cy->full;
	p->commands = cmds;
	static struct ksmp_policy pol;
	bounds(st, &pol);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto out;
	int n = survey(p, st, pol.auto_chunk, cy->full, fd);
	close(fd);
	if (n >= 0 && !target_hit(t)) {
		plan(p, pol.auto_chunk, pol.auto_vmas, cy->now);
		act(p, t, pol.auto_chunk, pol.auto_reprobe, cy->full, cy->now);
	}
	pthread_mutex_lock(&totals_lock);
	totals.chunks_measured += n > 0 ? (uint64_t)n : 0;
	pthread_mutex_unlock(&totals_lock);
out:
	target_put(t);
}

/* Every process that has advised memory (ksm_stat's ksm_mergeable): the
 * library's mode auto processes are among them. Others are not even
 * looked at, which keeps a pass cheap on a busy host. */
static void each_mergeable(struct cycle *cy)
{
	DIR *d = opendir("/proc");
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		char *e;
		long v = strtol(de->d_name, &e, 10);
		struct pksm k;
		if (*e || v <= 0 || proc_ksm((pid_t)v, &k) < 0 || !k.valid ||
		    !k.mergeable)
			continue;
		one(cy, (pid_t)v, k.merging_pages);
	}
	closedir(d);
}

/* One controller per host: two would each spend the VMA budget and take
 * the other's commands for an operator's. The first to lock acts. */
static int only_one(void)
{
	static int fd = -1;
	if (fd < 0) {
		fd = open(AUTO_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return 0;
	}
	return flock(fd, LOCK_EX | LOCK_NB) == 0;
}

void auto_cycle(void)
{
	struct cycle cy = { .now = now_ms() };
	if (!only_one())
		return;
	long long full = ksm_knob("full_scans");
	if (ksm_knob("run") != 1 || full < 0)
		return;
	cy.full = (uint64_t)full;
	for (struct proc *p = procs; p; p = p->next)
		p->seen = 0;
	each_mergeable(&cy);
	pthread_mutex_lock(&totals_lock);
	for (struct proc **pp = &procs; *pp;) {
		struct proc *p = *pp;
		if (p->seen) {
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		free(p->c);
		free(p);
	}
	totals.cycles++;
	pthread_mutex_unlock(&totals_lock);
}

void auto_get_totals(struct auto_totals *out)
{
	pthread_mutex_lock(&totals_lock);
	*out = totals;
	pthread_mutex_unlock(&totals_lock);
}

static void *loop(void *arg)
{
	(void)arg;
	for (;;) {
		auto_cycle();
		struct timespec ts = { .tv_sec = auto_ms / 1000,
				       .tv_nsec = (long)(auto_ms % 1000) * 1000000 };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

int auto_start(unsigned interval_ms)
{
	auto_ms = interval_ms;
	if (!interval_ms)
		return 0;
	pthread_t th;
	int r = pthread_create(&th, NULL, loop, NULL);
	if (r)
		return -r;
	pthread_detach(th);
	return 0;
}
