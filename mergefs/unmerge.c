/*
 * unmerge.c - unmerging without waking the OOM killer. Unmerging is the
 * one command that needs memory: every page the process maps from a KSM
 * page gets a private copy again, charged to the process's memory cgroup.
 * So before an unmerge (echo 0 > merge, "unmerge ADDR LEN" in regions):
 *
 *   1. estimate what it needs: the pages on KSM pages (pagemap +
 *      kpageflags) of what it covers: the range, the library's mergeable
 *      regions, or the VMAs holding KSM pages; without pagemap, the
 *      kernel's ksm_merging_pages + ksm_zero_pages;
 *   2. compare with the headroom (headroom.c: MemAvailable, and limit -
 *      usage of the cgroup and its ancestors); if the unmerge would leave
 *      less than the margin (-o unmerge_margin, default 64 MiB), refuse
 *      with ENOMEM and change nothing. "force" skips this check and
 *      lowers the margin to FORCE_FLOOR;
 *   3. carry it out in batches of at most -o unmerge_batch bytes of
 *      address space (default 16 MiB), each a raw MADV_UNMERGEABLE in the
 *      target (KSMP_CMD_PAGES_UNMERGE, the region table untouched), with
 *      the headroom checked again before each; then the command itself,
 *      which does the bookkeeping and whatever is left;
 *   4. if a batch would cross the margin, stop: the batches done are
 *      advised mergeable again (KSMP_CMD_PAGES_MERGE), so the process's
 *      advice is as before and ksmd merges those pages back; the write
 *      fails with ENOMEM.
 * Progress (state, total, done, left, batches, headroom and where it is
 * tightest) is kept per process and shown in /PID/stats while it runs and
 * after. Refusals and stops are logged on stderr (the journal, under -f).
 *
 * The ranges of a whole unmerge are the library's mergeable regions
 * (regions engine) or, when the whole process merges (process engine,
 * or inherited PR_SET_MEMORY_MERGE), the process's VMAs that hold KSM
 * pages, read once from smaps (it stalls the target for milliseconds:
 * acceptable for an operator's unmerge, never for a listing).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mergefs.h"

long long unmerge_margin = 64ll << 20;
long long unmerge_batch = 16ll << 20;
#define FORCE_FLOOR (4ll << 20)	/* per-CPU charge caches, page tables */

#define KPF_KSM (1ull << 21)
#define KPF_ZERO_PAGE (1ull << 24)
#define PM_PRESENT (1ull << 63)
#define PM_FILE (1ull << 61)
#define PM_EXCLUSIVE (1ull << 56)
#define PM_PFN ((1ull << 55) - 1)

/* ---------------------------------------------------------------- progress */

enum um_state { UM_NONE, UM_RUNNING, UM_DONE, UM_REFUSED, UM_STOPPED, UM_FAILED };
static const char *const um_names[] = {
	"none", "running", "done", "refused", "stopped", "failed"
};

struct um_progress {
	pid_t pid;
	uint64_t starttime;
	enum um_state state;
	long long total, done, left, batches, headroom;
	char where[256];
	unsigned long long seq;	/* for replacing the oldest */
};

#define UM_SLOTS 64
static pthread_mutex_t um_lock = PTHREAD_MUTEX_INITIALIZER;
static struct um_progress um_tab[UM_SLOTS];	/* um_lock */
static unsigned long long um_seq;		/* um_lock */

/* The slot of t, claimed for a new unmerge (-EBUSY while one runs). */
static struct um_progress *um_claim(const struct target *t)
{
	struct um_progress *p = NULL, *old = &um_tab[0];
	pthread_mutex_lock(&um_lock);
	for (int i = 0; i < UM_SLOTS; i++) {
		if (um_tab[i].pid == t->pid && um_tab[i].starttime == t->starttime)
			p = &um_tab[i];
		if (um_tab[i].seq < old->seq)
			old = &um_tab[i];
	}
	if (p && p->state == UM_RUNNING) {
		pthread_mutex_unlock(&um_lock);
		return NULL;
	}
	if (!p)
		p = old;
	memset(p, 0, sizeof(*p));
	p->pid = t->pid;
	p->starttime = t->starttime;
	p->state = UM_RUNNING;
	p->seq = ++um_seq;
	pthread_mutex_unlock(&um_lock);
	return p;
}

static void um_set(struct um_progress *p, enum um_state s, long long done,
		   const struct ksmp_headroom *h)
{
	pthread_mutex_lock(&um_lock);
	p->state = s;
	p->done = done;
	p->left = s == UM_DONE ? 0 : p->total - done;
	if (h) {
		p->headroom = h->bytes;
		snprintf(p->where, sizeof(p->where), "%s", h->where);
	}
	pthread_mutex_unlock(&um_lock);
}

void unmerge_render(struct mbuf *b, const struct fctx *c)
{
	struct um_progress p = { .state = UM_NONE };
	if (c->t) {
		pthread_mutex_lock(&um_lock);
		for (int i = 0; i < UM_SLOTS; i++)
			if (um_tab[i].pid == c->t->pid && um_tab[i].starttime == c->t->starttime)
				p = um_tab[i];
		pthread_mutex_unlock(&um_lock);
	}
	mb_printf(b, "unmerge_state %s\nunmerge_total_bytes %lld\nunmerge_done_bytes %lld\n"
		  "unmerge_left_bytes %lld\nunmerge_batches %lld\nunmerge_headroom_bytes %lld\n"
		  "unmerge_limited_by ", um_names[p.state], p.total, p.done, p.left,
		  p.batches, p.headroom);
	/* a cgroup path is the host's, but escape it like any string */
	const char *w = p.where[0] ? p.where : "-";
	for (const char *s = w; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch <= 0x20 || ch >= 0x7f || ch == '\\')
			mb_printf(b, "\\x%02x", ch);
		else
			mb_add(b, s, 1);
	}
	mb_add(b, "\n", 1);
}

/* ---------------------------------------------------------------- pages */

struct pm {
	int pagemap, kflags;
	int zero;	/* count zero-page mappings (the process has KSM zero pages) */
};

/* Pages of [lo, hi) an unmerge would copy: present anonymous pages that
 * are KSM pages (or the zero page, when it merges with it), skipping
 * pages mapped only here. Unknown frames count. >= 0 or -errno. */
static long long pm_pages(const struct pm *pm, uint64_t lo, uint64_t hi)
{
	uint64_t pg = (uint64_t)page_size(), e[512];
	long long n = 0;
	for (uint64_t a = lo; a < hi;) {
		size_t want = (size_t)((hi - a) / pg);
		if (want > 512)
			want = 512;
		ssize_t got = pread(pm->pagemap, e, want * 8, (off_t)(a / pg * 8));
		if (got <= 0)
			return got < 0 ? -errno : n;
		size_t k = (size_t)got / 8;
		for (size_t i = 0; i < k; i++) {
			if (!(e[i] & PM_PRESENT) || (e[i] & (PM_FILE | PM_EXCLUSIVE)))
				continue;
			uint64_t pfn = e[i] & PM_PFN, f = 0;
			if (!pfn || pread(pm->kflags, &f, 8, (off_t)(pfn * 8)) != 8) {
				n++;
				continue;
			}
			if ((f & KPF_KSM) || (pm->zero && (f & KPF_ZERO_PAGE)))
				n++;
		}
		a += k * pg;
	}
	return n;
}

/* ---------------------------------------------------------------- plan */

struct span {
	uint64_t lo, hi;
};

struct plan {
	struct span *s;
	size_t n, cap;
};

/* Most address space an unmerge walks in pagemap (8 bytes a page): the
 * regions and VMAs are the target's own word, so a hostile process could
 * name terabytes. Beyond it the unmerge is not batched (plan_scan). */
#define SCAN_MAX (64ull << 30)

static int plan_add(struct plan *p, uint64_t lo, uint64_t hi)
{
	if (ksmp_grow(&p->s, &p->cap, p->n + 1, sizeof(*p->s), 16) < 0)
		return -ENOMEM;
	p->s[p->n++] = (struct span){ lo, hi };
	return 0;
}

/* Process engine: the VMAs holding KSM pages (smaps "KSM:"). */
static int plan_smaps(pid_t pid, struct plan *p)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -ENOENT;
	unsigned long long s = 0, e = 0;
	int r = 0;
	while (!r && fgets(line, sizeof(line), f)) {
		unsigned long long a, z;
		if (line[0] != ' ' && sscanf(line, "%llx-%llx ", &a, &z) == 2) {
			s = a;
			e = z;
		} else if (!strncmp(line, "KSM:", 4) && strtoull(line + 4, NULL, 10) > 0) {
			r = plan_add(p, s, e);
		}
	}
	fclose(f);
	return r;
}

/* Regions engine: the library's regions in the mergeable state. */
static int plan_slots(const struct target *t, struct plan *p)
{
	uint32_t n = ksmp_state_slots(t->st);
	int r = 0;
	for (uint32_t i = 0; !r && i < n; i++) {
		struct ksmp_region reg;
		if (ksmp_region_read(&t->st->regions[i], &reg) == 0 &&
		    reg.state == KSMP_REGION_MERGEABLE && reg.start + reg.len > reg.start)
			r = plan_add(p, reg.start, reg.start + reg.len);
	}
	return r;
}

/* ---------------------------------------------------------------- driver */

struct run {
	const struct fctx *c;
	struct um_progress *p;
	struct pm pm;
	struct plan done;	/* batches carried out, to undo on a stop */
	long long margin, done_bytes;
	int merge_any;		/* whole-process merging: every VMA is unmerged */
	struct ksmp_headroom h;
};

static int send(const struct run *u, uint32_t cmd, uint64_t a, uint64_t len)
{
	return target_command(u->c->t, cmd, a, len, u->c->caller_uid, u->c->timeout_ms);
}

static void logf_pid(const struct run *u, const char *what, long long need)
{
	fprintf(stderr, "mergefs: pid %d: unmerge %s: it needs %lld MiB, %s leaves %lld MiB "
		"(margin %lld MiB)\n", (int)u->c->pid, what, need >> 20,
		u->h.where[0] ? u->h.where : "nothing", u->h.bytes >> 20, u->margin >> 20);
}

/* Headroom for need more bytes? Refreshes u->h. */
static int fits(struct run *u, long long need)
{
	if (ksmp_headroom_of(u->c->pid, &u->h) < 0)
		return 1;	/* nothing limits it */
	return need <= u->h.bytes - u->margin;
}

/* Undo the batches of a stopped unmerge: advise them mergeable again. */
static void undo(struct run *u)
{
	for (size_t i = 0; i < u->done.n; i++) {
		int r = send(u, KSMP_CMD_PAGES_MERGE, u->done.s[i].lo,
			     u->done.s[i].hi - u->done.s[i].lo);
		if (r == -ETIMEDOUT || r == -ENOENT)
			break;	/* it does not answer: do not wait once per batch */
	}
}

/* One span in batches. 0, -ENOMEM when it stopped, or the target's error. */
static int run_span(struct run *u, uint64_t lo, uint64_t hi)
{
	uint64_t step = (uint64_t)unmerge_batch;
	for (uint64_t a = lo; a < hi; a += step) {
		uint64_t z = hi - a < step ? hi : a + step;
		long long pages = pm_pages(&u->pm, a, z);
		if (pages < 0)
			return (int)pages;
		if (pages == 0)
			continue;
		long long need = pages * page_size();
		if (!fits(u, need)) {
			logf_pid(u, "stopped", need);
			return -ENOMEM;
		}
		int r = send(u, KSMP_CMD_PAGES_UNMERGE, a, z - a);
		if (r < 0 && r != -ENOMEM)	/* ENOMEM: a hole, the rest done */
			return r;
		if (plan_add(&u->done, a, z) < 0)
			return -ENOMEM;
		u->done_bytes += need;
		pthread_mutex_lock(&um_lock);
		u->p->batches++;
		pthread_mutex_unlock(&um_lock);
		um_set(u->p, UM_RUNNING, u->done_bytes, &u->h);
	}
	return 0;
}

static int open_pm(pid_t pid, const struct pksm *k, struct pm *pm)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	pm->pagemap = open(path, O_RDONLY | O_CLOEXEC);
	pm->kflags = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	pm->zero = k->zero_pages > 0;
	if (pm->pagemap < 0 || pm->kflags < 0) {
		int e = -errno;
		if (pm->pagemap >= 0)
			close(pm->pagemap);
		if (pm->kflags >= 0)
			close(pm->kflags);
		return e;
	}
	return 0;
}

/* What the unmerge covers: the range, the library's mergeable regions,
 * or (whole-process merging) the VMAs holding KSM pages. */
static int plan_for(const struct run *u, uint32_t cmd, uint64_t addr, uint64_t len,
		    struct plan *todo)
{
	const struct target *t = u->c->t;
	if (cmd == KSMP_CMD_RANGE_UNMERGE)
		return plan_add(todo, addr, addr + len);
	if (__atomic_load_n(&t->st->engine, __ATOMIC_RELAXED) == KSMP_ENGINE_REGIONS &&
	    !u->merge_any)
		return plan_slots(t, todo);
	return plan_smaps(u->c->pid, todo);
}

/* Bytes the plan's spans hold on KSM pages now (< 0: -errno; -E2BIG
 * when they span more than SCAN_MAX: too much to walk). */
static long long plan_need(const struct run *u, const struct plan *todo)
{
	uint64_t span = 0;
	for (size_t i = 0; i < todo->n; i++) {
		span += todo->s[i].hi - todo->s[i].lo;
		if (span > SCAN_MAX || todo->s[i].hi < todo->s[i].lo)
			return -E2BIG;
	}
	long long n = 0;
	for (size_t i = 0; i < todo->n; i++) {
		long long p = pm_pages(&u->pm, todo->s[i].lo, todo->s[i].hi);
		if (p < 0)
			return p;
		n += p;
	}
	return n * page_size();
}

/* The batches, then cmd itself, checked for what is left. */
static int run_batches(struct run *u, const struct plan *todo, uint32_t cmd, uint64_t addr,
		       uint64_t len)
{
	int r = 0;
	if (plan_need(u, todo) == -E2BIG)
		return send(u, cmd, addr, len);	/* checked once, not batched */
	for (size_t i = 0; !r && i < todo->n; i++)
		r = run_span(u, todo->s[i].lo, todo->s[i].hi);
	if (r == -EINVAL && u->done.n == 0)
		r = 0;	/* an agent without PAGES_UNMERGE: the command alone */
	if (r)
		return r;
	long long left = plan_need(u, todo);
	if (left > 0 && !fits(u, left)) {
		logf_pid(u, "stopped", left);
		return -ENOMEM;
	}
	return send(u, cmd, addr, len);
}

int unmerge_checked(const struct fctx *c, uint32_t cmd, uint64_t addr, uint64_t len, int force)
{
	struct um_progress *p = um_claim(c->t);
	if (!p)
		return -EBUSY;
	struct run u = { .c = c, .p = p, .margin = force ? FORCE_FLOOR : unmerge_margin };
	struct plan todo = { NULL, 0, 0 };
	struct pksm k;
	if (proc_ksm(c->pid, &k) < 0)
		memset(&k, 0, sizeof(k));
	u.merge_any = k.merge_any;
	int r = open_pm(c->pid, &k, &u.pm);
	if (r < 0) {
		um_set(p, UM_FAILED, 0, NULL);
		return r == -ENOENT || r == -ESRCH ? -ENOENT : r;
	}
	r = plan_for(&u, cmd, addr, len, &todo);
	long long total = r < 0 ? -1 : plan_need(&u, &todo);
	if (total < 0)	/* no pagemap: the kernel's whole-process figure */
		total = (k.merging_pages + k.zero_pages) * page_size();
	pthread_mutex_lock(&um_lock);
	p->total = total;
	pthread_mutex_unlock(&um_lock);
	if (r < 0) {
		um_set(p, UM_FAILED, 0, NULL);
	} else if (!force && !fits(&u, total)) {
		logf_pid(&u, "refused", total);
		um_set(p, UM_REFUSED, 0, &u.h);
		r = -ENOMEM;
	} else {
		fits(&u, 0);
		um_set(p, UM_RUNNING, 0, &u.h);
		r = run_batches(&u, &todo, cmd, addr, len);
		if (r < 0)
			undo(&u);	/* stopped or failed: advice as before */
		um_set(p, r == 0 ? UM_DONE : r == -ENOMEM ? UM_STOPPED : UM_FAILED,
		       r == 0 ? total : u.done_bytes, NULL);
	}
	free(todo.s);
	free(u.done.s);
	close(u.pm.pagemap);
	close(u.pm.kflags);
	return r;
}
