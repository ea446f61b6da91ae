/*
 * auto_survey.c - the measuring side of mode auto's controller (auto.c):
 * walks a process's advised records (its state block's region table),
 * keeps its chunks, and counts present and shared pages per chunk and per
 * sub-unit from /proc/PID/pagemap; notes where a pruned run would split
 * a VMA.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "auto.h"
#include "ksmp_state_read.h"
#include "ksmp_util.h"

/* Binary search among chunks [lo, hi), sorted by address. */
static struct chunk *find(struct proc *p, size_t lo, size_t hi, uint64_t addr)
{
	size_t end = hi;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (p->c[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < end && p->c[lo].addr == addr ? &p->c[lo] : NULL;
}

static int by_addr(const void *a, const void *b)
{
	uint64_t x = ((const struct chunk *)a)->addr, y = ((const struct chunk *)b)->addr;
	return x < y ? -1 : x > y;
}

/* A chunk seen in an advised record: one known before this survey (the
 * first n - grew, sorted), one this survey added (the rest: in address
 * order too, since the records come sorted by start, so a chunk not yet
 * seen lies past every chunk added before it), or a new one (since =
 * now), added at the end. */
static struct chunk *chunk_at(struct proc *p, uint64_t addr, uint64_t full,
			      int pruned, int *grew)
{
	size_t old = p->n - (size_t)*grew;
	struct chunk *c = find(p, 0, old, addr);
	if (!c)
		c = find(p, old, p->n, addr);
	if (c)
		return c;
	if (ksmp_grow(&p->c, &p->cap, p->n + 1, sizeof(*p->c), 256) < 0)
		return NULL;
	c = &p->c[p->n++];
	memset(c, 0, sizeof(*c));
	c->addr = addr;
	c->since = full;
	c->pruned = (uint8_t)pruned;
	(*grew)++;
	return c;
}

/* Present entries read from pagemap since the last pause (the
 * controller's thread alone reads). */
static unsigned pm_unpaused;

/* Count present and shared pages of [a, a+len) from pagemap: the pages
 * it overlaps (a record the target wrote may start or end inside a page:
 * the block is its memory), at most 2 MiB per read, with a pause after
 * every 2 MiB of present pages read (PM_PAUSE_US: see the top of
 * auto.c); mark the sub-units (of sub bytes from base, page-aligned, 0:
 * none) that have either. */
static int measure(int fd, uint64_t a, uint64_t len, unsigned *present,
		   unsigned *shared, uint64_t base, uint64_t sub, struct chunk *c)
{
	uint64_t e[512];
	uint64_t pg = a / 4096, end = (a + len + 4095) / 4096;
	while (pg < end) {
		if (pm_unpaused >= 512) {
			struct timespec pause = { 0, PM_PAUSE_US * 1000 };
			nanosleep(&pause, NULL);
			pm_unpaused = 0;
		}
		uint64_t pages = end - pg < 512 ? end - pg : 512;
		ssize_t r = pread(fd, e, pages * 8, (off_t)(pg * 8));
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		for (ssize_t i = 0; i < r / 8; i++) {
			if (!(e[i] & PM_PRESENT))
				continue;
			pm_unpaused++;
			uint32_t bit = sub ? 1u << (((pg + (uint64_t)i) * 4096 - base) / sub) : 0;
			(*present)++;
			c->live |= bit;
			if (!(e[i] & PM_EXCLUSIVE)) {
				(*shared)++;
				c->sh |= bit;
			}
		}
		pg += (uint64_t)r / 8;
	}
	return 0;
}

/*
 * Where pagemap is read: in a record that was mostly not present at the
 * last look (sparse()), only the present runs, found with the
 * PAGEMAP_SCAN ioctl (Linux 6.7) at most SCAN_WINDOW at a time (the
 * kernel holds the mmap lock for reading through each), so that the
 * entries of pages never touched are not read one by one. A JVM reserves
 * GiBs and touches a fraction: reading its pagemap whole, 8 bytes a
 * page, was most of the controller's CPU (perf on bench-real's jvm-g1:
 * the kernel's pagemap_pte_hole and pagemap_pmd_range, 31% of samples).
 * Elsewhere the entries are read directly: the scan walks present pages
 * as a read does, and costs more where most are present
 * (bench/ksmp-pmscan, CPU time against a plain read: 4 GiB with 16 runs
 * of 4 MiB present 0.32-0.39x, 1 GiB half present 1.16-1.21x, 256 MiB
 * all present 1.20-1.27x). Where the ioctl is not there, or fails, the
 * record is read whole.
 */
#define SCAN_WINDOW	(64ull << 20)

struct runs {
	struct ksmp_page_region *r;
	size_t n, cap, next;	/* next: the first run a chunk may overlap */
};

static int scan_missing;	/* the kernel has no PAGEMAP_SCAN */

/* The present runs of [s, e) into rs (sorted), the range widened to
 * whole pages (the kernel refuses an unaligned start, and would end the
 * walk past an unaligned end): 0, or -errno when they are not known (the
 * caller reads the range whole). The records come from the target's
 * memory: an error of one (a range past the user addresses) is no reason
 * to fail its survey, nor to stop scanning others' records. */
static int present_runs(int fd, uint64_t s, uint64_t e, struct runs *rs)
{
	rs->n = rs->next = 0;
	e = (e + 4095) & ~4095ull;
	for (uint64_t at = s & ~4095ull; at < e;) {
		if (scan_missing)
			return -ENOTTY;
		if (ksmp_grow(&rs->r, &rs->cap, rs->n + 64, sizeof(*rs->r), 256) < 0)
			return -ENOMEM;
		struct ksmp_pm_scan_arg arg = {
			.size = sizeof(arg), .start = at,
			.end = e - at > SCAN_WINDOW ? at + SCAN_WINDOW : e,
			.vec = (uint64_t)(uintptr_t)(rs->r + rs->n),
			.vec_len = rs->cap - rs->n,
			.category_mask = KSMP_PAGE_IS_PRESENT,
			.return_mask = KSMP_PAGE_IS_PRESENT,
		};
		int n = ioctl(fd, KSMP_PAGEMAP_SCAN, &arg);
		if (n < 0 && (errno == ENOTTY || errno == EINVAL || errno == EOPNOTSUPP))
			scan_missing = 1;
		if (n < 0)
			return -errno;
		rs->n += (size_t)n;
		if (arg.walk_end <= at || arg.walk_end > arg.end)
			return -EIO;
		at = arg.walk_end;
	}
	return 0;
}

/* Whether [start, start+len) had, at the last look, more than 4 pages
 * not present for each present one (chunks not seen yet count as empty),
 * so that finding its present runs costs less than reading it whole:
 * reading an entry of a page not present costs about 3 ns, finding and
 * reading a present one about 12 ns more than reading it (ksmp-pmscan).
 * old: the chunks of p known before this survey (sorted). */
static int sparse(struct proc *p, uint64_t start, uint64_t len, uint64_t chunk,
		  size_t old)
{
	uint64_t present = 0;
	for (uint64_t a = start & ~(chunk - 1); a < start + len; a += chunk) {
		const struct chunk *c = find(p, 0, old, a);
		if (c)
			present += c->last;
	}
	return len / 4096 > 5 * present;
}

/* measure() over the present runs of rs within [a, a+len) (chunks of a
 * record come in address order: rs->next moves on). */
static int measure_runs(int fd, struct runs *rs, uint64_t a, uint64_t len,
			unsigned *present, unsigned *shared, uint64_t base,
			uint64_t sub, struct chunk *c)
{
	while (rs->next < rs->n && rs->r[rs->next].end <= a)
		rs->next++;
	for (size_t i = rs->next; i < rs->n && rs->r[i].start < a + len; i++) {
		uint64_t lo = rs->r[i].start > a ? rs->r[i].start : a;
		uint64_t hi = rs->r[i].end < a + len ? rs->r[i].end : a + len;
		int r = measure(fd, lo, hi - lo, present, shared, base, sub, c);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The sub-units (of sub bytes) that [lo, hi) overlaps, offsets in a chunk. */
uint32_t auto_sub_bits(uint64_t lo, uint64_t hi, uint64_t sub)
{
	uint32_t first = (uint32_t)(lo / sub), last = (uint32_t)((hi - 1) / sub);
	return (last >= 31 ? ~0u : (2u << last) - 1) & ~((1u << first) - 1);
}

struct rec {
	uint64_t start, len;
	uint8_t state;
};

static int by_start(const void *a, const void *b)
{
	uint64_t x = ((const struct rec *)a)->start, y = ((const struct rec *)b)->start;
	return x < y ? -1 : x > y;
}

/* The block's advised and pruned records, by address, into recs; how
 * many, or -E2BIG when they span more than MAX_CHUNKS chunks. The block
 * is the target's memory: a record past any user address (one that
 * wrapped the walk below around to 0, for ever) is not taken, and the
 * chunk bound keeps a huge one from costing unbounded memory and time. */
static int records(const struct ksmp_state *st, uint64_t chunk, struct rec *recs)
{
	uint32_t nr = ksmp_state_slots(st), n = 0;
	uint64_t chunks = 0;
	for (uint32_t i = 0; i < nr; i++) {
		struct ksmp_region r;
		if (ksmp_region_read(&st->regions[i], &r) < 0 ||
		    (r.state != KSMP_REGION_MERGEABLE && r.state != KSMP_REGION_PRUNED) ||
		    !r.len || r.start >= USER_END || r.len > USER_END - r.start)
			continue;
		chunks += ((r.start + r.len + chunk - 1) / chunk) - r.start / chunk;
		if (chunks > MAX_CHUNKS)
			return -E2BIG;
		recs[n++] = (struct rec){ r.start, r.len, r.state };
	}
	qsort(recs, n, sizeof(*recs), by_start);
	return (int)n;
}

/* Walk the advised records: learn the chunks, measure the mergeable
 * ones, mark what to prune. Returns chunks measured or -errno. */
int auto_survey(struct proc *p, const struct ksmp_state *st, uint64_t chunk,
		uint64_t full, int fd)
{
	/* While pages of the process still come to merge (smart_scan lets
	 * ksmd skip a page for up to 8 scans after it failed to merge), a
	 * chunk without KSM pages may merge yet: wait for a plateau. */
	int settled = full >= p->merging_since + PLATEAU_SCANS;
	uint64_t sub = chunk / SUBS >= MIN_SUB ? chunk / SUBS : 0;
	static struct rec recs[KSMP_STATE_REGIONS];
	int nr = records(st, chunk, recs);
	if (nr < 0)
		return nr;
	int grew = 0, measured = 0;
	for (size_t i = 0; i < p->n; i++) {
		struct chunk *c = &p->c[i];
		c->mark = c->act = c->eligible = 0;
		c->cut_lo = c->cut_hi = c->starts = c->ends = 0;
		c->live = c->sh = c->sub_plan = c->sub_probe = 0;
		c->looked = 0;
		if (!c->pruned)
			c->present = c->shared = c->sub = 0; /* sub: from the records */
		else if (c->look)
			c->present = 0;	/* counted again below */
	}
	static struct runs rs;
	for (int i = 0; i < nr; i++) {
		uint8_t state = recs[i].state;
		uint64_t start = recs[i].start, len = recs[i].len;
		int scanned = -1;	/* not decided; 0: read whole; 1: runs in rs */
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
			uint64_t lo = a > start ? a : start;
			uint64_t hi = a + chunk < start + len ? a + chunk : start + len;
			if (state == KSMP_REGION_PRUNED) {
				if (!c->pruned && sub)	/* a kept chunk's sub-units */
					c->sub |= auto_sub_bits(lo - a, hi - a, sub);
				else if (c->pruned && c->look) {
					/* present pages only: has it filled
					 * since it was pruned? (auto_plan()) */
					unsigned present = 0, shared = 0;
					if (measure(fd, lo, hi - lo, &present, &shared,
						    a, 0, c) == 0) {
						c->present += present;
						c->looked = 1;
					}
				}
				continue;
			}
			if (c->pruned) {	/* mapped afresh in part */
				c->pruned = 0;
				c->present = c->shared = 0;
				c->live = c->sh = 0;
				c->since = full;
				/* what is still pruned of it (seen as
				 * pruned sub-units now) keeps the chunk's
				 * probe: it was probed at once */
				c->sub_probe_at = c->probe_at;
			}
			unsigned present = 0, shared = 0;
			/* once a record: sparse() looks at all its chunks */
			if (scanned < 0) {
				scanned = sparse(p, start, len, chunk,
						 (size_t)(p->n - (size_t)grew));
				if (scanned && present_runs(fd, start, start + len, &rs) < 0)
					scanned = 0;	/* read whole */
			}
			if ((scanned ? measure_runs(fd, &rs, lo, hi - lo, &present, &shared, a, sub, c) :
			     measure(fd, lo, hi - lo, &present, &shared, a, sub, c)) < 0)
				continue;
			measured++;
			c->present += present;
			c->shared += shared;
		}
	}
	for (size_t i = 0; i < p->n; i++)
		p->c[i].look = 0;
	if (grew)
		qsort(p->c, p->n, sizeof(*p->c), by_addr);
	/* forget chunks no record covers any more */
	size_t k = 0;
	for (size_t i = 0; i < p->n; i++)
		if (p->c[i].mark)
			p->c[k++] = p->c[i];
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
