/*
 * regions.c - the region table: what the library advised, published in the
 * state block (ksmp_st->regions) for mergefs and used by the control
 * engine to unmerge and merge again.
 *
 * Writers (advice, munmap, mremap, free of a chunk) take a spinlock that is
 * only ever held by code running with the recursion guard set, so a signal
 * handler of the program that re-enters an interposer skips the table
 * instead of deadlocking. A private index (start/end per slot, kept next to
 * each other) keeps scans cheap. Every slot write is bracketed by its
 * sequence number (odd while written). The control signal handler never
 * takes the lock: ksmp_regions_walk() only flips slot states.
 *
 * Adjacent records of the same kind, rule and caller are coalesced, so the
 * table (and the VMAs, which the kernel merges the same way) stays small.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "lib.h"

struct idx {
	uintptr_t start, end;
};

static struct idx idx[KSMP_STATE_REGIONS] KSMP_BIG;
static uint8_t used[KSMP_STATE_REGIONS] KSMP_BIG;
static uint32_t hint;		/* slots [0, hint) may be used */
static uint32_t nused;
static uint32_t first_free;	/* no free slot below this one */
static uintptr_t bb_lo = UINTPTR_MAX, bb_hi;	/* every record is inside */
static int tlock;

static uintptr_t pagesz(void)
{
	static uintptr_t ps;
	if (!ps)
		ps = ksmp_pagesize();
	return ps;
}

static size_t round_len(size_t len)
{
	uintptr_t ps = pagesz();
	return (len + ps - 1) & ~(ps - 1);
}

static void count(int kind, int rule, int64_t bytes, int newregion)
{
	struct ksmp_state *st = ksmp_st;
	if (kind >= 0 && kind < KSMP_STATE_KINDS) {
		__atomic_fetch_add(&st->kind[kind].bytes, (uint64_t)bytes, __ATOMIC_RELAXED);
		__atomic_fetch_add(&st->kind[kind].regions, (uint64_t)newregion, __ATOMIC_RELAXED);
	}
	if (rule >= 0 && rule < KSMP_STATE_RULES) {
		__atomic_fetch_add(&st->rule[rule].bytes, (uint64_t)bytes, __ATOMIC_RELAXED);
		__atomic_fetch_add(&st->rule[rule].regions, (uint64_t)newregion, __ATOMIC_RELAXED);
	}
}

static void seq_enter(struct ksmp_region *r)
{
	__atomic_fetch_add(&r->seq, 1, __ATOMIC_ACQ_REL);
}

static void seq_leave(struct ksmp_region *r)
{
	__atomic_fetch_add(&r->seq, 1, __ATOMIC_RELEASE);
}

/* The private index's copy of slot i's range, and the bounding box. */
static void index_range(uint32_t i, uintptr_t start, uintptr_t end)
{
	idx[i].start = start;
	idx[i].end = end;
	if (start < bb_lo)
		bb_lo = start;
	if (end > bb_hi)
		bb_hi = end;
}

static void set_range(uint32_t i, uintptr_t start, uintptr_t end)
{
	struct ksmp_region *r = &ksmp_st->regions[i];
	seq_enter(r);
	r->start = start;
	r->len = end - start;
	seq_leave(r);
	index_range(i, start, end);
}

static int new_slot(uintptr_t start, uintptr_t end, int kind, int rule,
		    const char *caller, uint64_t pc, int state)
{
	uint32_t i;
	for (i = first_free; i < KSMP_STATE_REGIONS && used[i]; i++)
		;
	if (i == KSMP_STATE_REGIONS) {
		first_free = i;
		return -ENOSPC;
	}
	first_free = i + 1;
	used[i] = 1;
	nused++;
	struct ksmp_region *r = &ksmp_st->regions[i];
	seq_enter(r);
	r->kind = (uint8_t)kind;
	r->rule = (int16_t)rule;
	size_t n = 0;
	if (caller)
		for (; caller[n] && n < sizeof(r->caller) - 1; n++)
			r->caller[n] = caller[n];
	r->caller[n] = '\0';
	r->caller_pc = pc;
	r->start = start;
	r->len = end - start;
	r->state = (uint8_t)state;
	seq_leave(r);
	index_range(i, start, end);
	if (i + 1 > hint) {
		hint = i + 1;
		__atomic_store_n(&ksmp_st->nregions_hint, hint, __ATOMIC_RELEASE);
	}
	return (int)i;
}

static void free_slot(uint32_t i)
{
	struct ksmp_region *r = &ksmp_st->regions[i];
	seq_enter(r);
	r->state = KSMP_REGION_FREE;
	r->start = r->len = 0;
	seq_leave(r);
	idx[i].start = idx[i].end = 0;
	used[i] = 0;
	nused--;
	if (i < first_free)
		first_free = i;
}

static bool same_owner(uint32_t i, int kind, int rule, const char *caller,
		       uint64_t pc, int state)
{
	const struct ksmp_region *r = &ksmp_st->regions[i];
	return r->kind == kind && r->rule == rule && r->state == state &&
	       (!ksmp_profile || r->caller_pc == pc) &&
	       !strncmp(r->caller, caller ? caller : "", sizeof(r->caller) - 1);
}

/* Record [start, end) (page-aligned), the lock held; newregion: counted
 * as a region advised (not one that moved). */
static int add_locked(uintptr_t start, uintptr_t end, int kind, int rule,
		      const char *caller, uint64_t pc, int state, int newregion)
{
	/* one pass: already recorded (a reused stack, advice again)? else a
	 * neighbour of the same owner to extend? */
	int64_t grow = -1;
	bool forward = false;
	for (uint32_t i = 0; i < hint; i++) {
		if (!used[i])
			continue;
		if (idx[i].start <= start && idx[i].end >= end &&
		    ksmp_st->regions[i].kind == kind)
			return 0;
		if (grow < 0 && (idx[i].end == start || idx[i].start == end) &&
		    same_owner(i, kind, rule, caller, pc, state)) {
			grow = i;
			forward = idx[i].end == start;
		}
	}
	if (state == KSMP_REGION_MERGEABLE)
		count(kind, rule, (int64_t)(end - start), newregion);
	if (grow >= 0) {
		uint32_t i = (uint32_t)grow;
		if (forward)
			set_range(i, idx[i].start, end);
		else
			set_range(i, start, idx[i].end);
		return 0;
	}
	if (new_slot(start, end, kind, rule, caller, pc, state) < 0) {
		ksmp_state_set_flag(KSMP_STF_TABLE_FULL);
		__atomic_fetch_add(&ksmp_st->regions_dropped, 1, __ATOMIC_RELAXED);
		return -ENOSPC;
	}
	return 0;
}

static int add(uintptr_t start, size_t len, int kind, int rule,
	       const char *caller, uint64_t pc, int state, bool wait)
{
	if (wait)
		ksmp_spin_lock(&tlock);
	else if (__atomic_exchange_n(&tlock, 1, __ATOMIC_ACQUIRE))
		return -EBUSY;
	int ret = add_locked(start, start + round_len(len), kind, rule, caller,
			     pc, state, 1);
	ksmp_spin_unlock(&tlock);
	return ret;
}

int ksmp_regions_add(uintptr_t start, size_t len, int kind, int rule,
		     const char *caller, int state)
{
	return add(start, len, kind, rule, caller, 0, state, true);
}

int ksmp_regions_add_pc(uintptr_t start, size_t len, int kind, int rule,
			const char *caller, uint64_t pc, int state)
{
	return add(start, len, kind, rule, caller, pc, state, true);
}

int ksmp_regions_add_nowait(uintptr_t start, size_t len, int kind, int rule,
			    const char *caller, int state)
{
	return add(start, len, kind, rule, caller, 0, state, false);
}

bool ksmp_regions_maybe(uintptr_t start, size_t len)
{
	return __atomic_load_n(&nused, __ATOMIC_RELAXED) &&
	       start < __atomic_load_n(&bb_hi, __ATOMIC_RELAXED) &&
	       start + len > __atomic_load_n(&bb_lo, __ATOMIC_RELAXED);
}

/* Drop or trim the records (of this kind; any when kind < 0) that
 * intersect [start, end). */
static void forget_locked(uintptr_t start, uintptr_t end, int kind_only)
{
	for (uint32_t i = 0; i < hint; i++) {
		if (!used[i] || idx[i].end <= start || idx[i].start >= end)
			continue;
		struct ksmp_region *r = &ksmp_st->regions[i];
		if (kind_only >= 0 && r->kind != kind_only)
			continue;
		uintptr_t s = idx[i].start, e = idx[i].end;
		uintptr_t os = s > start ? s : start, oe = e < end ? e : end;
		int kind = r->kind, rule = r->rule;
		if (r->state == KSMP_REGION_MERGEABLE)
			count(kind, rule, -(int64_t)(oe - os), 0);
		if (s < start && e > end) {
			char caller[KSMP_STATE_CALLER_MAX];
			memcpy(caller, r->caller, sizeof(caller));
			uint64_t pc = r->caller_pc;
			set_range(i, s, start);
			if (new_slot(end, e, kind, rule, caller, pc, r->state) < 0) {
				ksmp_state_set_flag(KSMP_STF_TABLE_FULL);
				__atomic_fetch_add(&ksmp_st->regions_dropped, 1,
						   __ATOMIC_RELAXED);
			}
		} else if (s < start) {
			set_range(i, s, start);
		} else if (e > end) {
			set_range(i, end, e);
		} else {
			free_slot(i);
		}
	}
}

void ksmp_regions_forget(uintptr_t start, size_t len)
{
	if (!ksmp_regions_maybe(start, len))
		return;
	ksmp_spin_lock(&tlock);
	forget_locked(start, start + round_len(len), -1);
	ksmp_spin_unlock(&tlock);
}

void ksmp_regions_forget_kind(uintptr_t start, size_t len, int kind)
{
	if (!ksmp_regions_maybe(start, len))
		return;
	ksmp_spin_lock(&tlock);
	forget_locked(start, start + round_len(len), kind);
	ksmp_spin_unlock(&tlock);
}

/* The parts of the records inside [old, oend), at their places in
 * [nw, nend) (the last page's record takes what the range grew by); at
 * most max. */
static unsigned moved_pieces(uintptr_t old, uintptr_t oend, uintptr_t nw,
			     uintptr_t nend, struct ksmp_piece *pc, unsigned max)
{
	unsigned n = 0;
	for (uint32_t i = 0; i < hint && n < max; i++) {
		uintptr_t ns, ne;
		if (!used[i] || !ksmp_moved_part(idx[i].start, idx[i].end, idx[i].end,
						 old, oend, nw, nend, &ns, &ne))
			continue;
		const struct ksmp_region *r = &ksmp_st->regions[i];
		pc[n] = (struct ksmp_piece){ ns, ne, r->kind, r->rule, r->state,
					     r->caller_pc, "" };
		memcpy(pc[n].caller, r->caller, sizeof(pc[n].caller) - 1);
		n++;
	}
	return n;
}

void ksmp_regions_moved(uintptr_t old, size_t oldlen, uintptr_t nw, size_t newlen,
			bool kept)
{
	if (!ksmp_regions_maybe(old, oldlen))
		return;
	uintptr_t oend = old + round_len(oldlen), nend = nw + round_len(newlen);
	ksmp_spin_lock(&tlock);
	for (uint32_t i = 0; i < hint && !kept; i++) {
		if (!used[i] || idx[i].start != old || idx[i].end != oend)
			continue;
		struct ksmp_region *r = &ksmp_st->regions[i];
		if (r->state == KSMP_REGION_MERGEABLE)
			count(r->kind, r->rule, (int64_t)(nend - nw) - (int64_t)(oend - old), 0);
		set_range(i, nw, nend);
		ksmp_spin_unlock(&tlock);
		return;
	}
	/* Parts of records (coalesced neighbours), or the old range kept
	 * (MREMAP_DONTUNMAP: still mapped, its flags as before): each part
	 * is recorded where it went too, with its kind, rule and state, and
	 * no longer where it was unless the old range stays. One VMA may
	 * hold as many records as the table (neighbours of other rules or
	 * callers): room for all, used under the lock (untouched pages
	 * cost nothing). */
	static struct ksmp_piece pc[KSMP_STATE_REGIONS] KSMP_BIG;
	unsigned n = moved_pieces(old, oend, nw, nend, pc, KSMP_STATE_REGIONS);
	if (!kept)
		forget_locked(old, oend, -1);
	for (unsigned k = 0; k < n; k++)
		add_locked(pc[k].start, pc[k].end, pc[k].kind, pc[k].rule, pc[k].caller,
			   pc[k].pc, pc[k].state, 0);
	ksmp_spin_unlock(&tlock);
}

void ksmp_regions_take(uintptr_t start, size_t len, struct ksmp_piece *kept)
{
	if (!ksmp_regions_maybe(start, len))
		return;
	uintptr_t end = start + round_len(len);
	ksmp_spin_lock(&tlock);
	moved_pieces(start, end, start, end, kept, 1);
	forget_locked(start, end, -1);
	ksmp_spin_unlock(&tlock);
}

void ksmp_regions_put_back(const struct ksmp_piece *k)
{
	ksmp_spin_lock(&tlock);
	add_locked(k->start, k->end, k->kind, k->rule, k->caller, k->pc, k->state, 0);
	ksmp_spin_unlock(&tlock);
}

size_t ksmp_regions_holder(uintptr_t start, size_t len, int kind, int *state)
{
	if (!ksmp_regions_maybe(start, len))
		return 0;
	uintptr_t end = start + round_len(len);
	size_t held = 0;
	ksmp_spin_lock(&tlock);
	for (uint32_t i = 0; i < hint && !held; i++) {
		if (!used[i] || idx[i].start > start || idx[i].end < end ||
		    ksmp_st->regions[i].kind != kind)
			continue;
		held = idx[i].end - idx[i].start;
		*state = ksmp_st->regions[i].state;
	}
	ksmp_spin_unlock(&tlock);
	return held;
}

bool ksmp_regions_has_start(uintptr_t start)
{
	for (uint32_t i = 0; i < hint; i++)
		if (used[i] && idx[i].start == start)
			return true;
	return false;
}

int ksmp_regions_walk(uintptr_t lo, uintptr_t hi, int from_state, int to_state,
		      int (*fn)(uintptr_t start, size_t len), bool *any)
{
	struct ksmp_state *st = ksmp_st;
	uint32_t n = __atomic_load_n(&st->nregions_hint, __ATOMIC_ACQUIRE);
	int first = 0;
	if (n > KSMP_STATE_REGIONS)
		n = KSMP_STATE_REGIONS;
	for (uint32_t i = 0; i < n; i++) {
		struct ksmp_region *r = &st->regions[i];
		uint32_t s = __atomic_load_n(&r->seq, __ATOMIC_ACQUIRE);
		if (s & 1 || r->state != from_state)
			continue;
		uintptr_t start = r->start;
		size_t len = r->len;
		if (start < lo || start + len > hi)
			continue;
		if (any)
			*any = true;
		if (!__atomic_compare_exchange_n(&r->seq, &s, s + 1, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			continue;
		int e = fn(start, len);
		if (!e || e == -ENOMEM) {
			/* ENOMEM: partly unmapped, the rest was done */
			r->state = (uint8_t)to_state;
			int64_t b = (int64_t)len;
			if (from_state == to_state)
				;
			else if (to_state == KSMP_REGION_MERGEABLE)
				count(r->kind, r->rule, b, 0);
			else if (from_state == KSMP_REGION_MERGEABLE)
				count(r->kind, r->rule, -b, 0);
		}
		if (e && !first)
			first = e;
		__atomic_fetch_add(&r->seq, 1, __ATOMIC_RELEASE);
	}
	return first;
}

/* Give slot i's record the range [start, end) and state: a split-off
 * piece of a record of the same owner. */
static void piece(uint32_t i, uintptr_t start, uintptr_t end, int state)
{
	const struct ksmp_region *r = &ksmp_st->regions[i];
	char caller[KSMP_STATE_CALLER_MAX];
	memcpy(caller, r->caller, sizeof(caller));
	caller[sizeof(caller) - 1] = '\0';
	new_slot(start, end, r->kind, r->rule, caller, r->caller_pc, state);
}

/* Join slot i with an adjacent record of the same owner and state. */
static void join(uint32_t i)
{
	const struct ksmp_region *r = &ksmp_st->regions[i];
	for (uint32_t j = 0; j < hint; j++) {
		if (j == i || !used[j] ||
		    (idx[j].end != idx[i].start && idx[j].start != idx[i].end) ||
		    !same_owner(j, r->kind, r->rule, r->caller, r->caller_pc, r->state))
			continue;
		uintptr_t lo = idx[j].start < idx[i].start ? idx[j].start : idx[i].start;
		uintptr_t hi = idx[j].end > idx[i].end ? idx[j].end : idx[i].end;
		free_slot(i);
		set_range(j, lo, hi);
		i = j;
		j = (uint32_t)-1;	/* it may now touch another one */
	}
}

int ksmp_regions_restate(uintptr_t lo, uintptr_t hi, int from, int to,
			 int (*fn)(uintptr_t start, size_t len), bool *any)
{
	if (__atomic_exchange_n(&tlock, 1, __ATOMIC_ACQUIRE))
		return -EBUSY;
	int first = 0;
	for (uint32_t i = 0; i < hint; i++) {
		if (!used[i] || idx[i].end <= lo || idx[i].start >= hi ||
		    ksmp_st->regions[i].state != from)
			continue;
		uintptr_t s = idx[i].start, e = idx[i].end;
		uintptr_t os = s > lo ? s : lo, oe = e < hi ? e : hi;
		*any = true;
		uint32_t need = (s < os) + (oe < e);
		if (KSMP_STATE_REGIONS - nused < need) {
			first = first ? first : -ENOSPC;
			continue;
		}
		int err = fn(os, oe - os);
		if (err && err != -ENOMEM) {
			first = first ? first : err;
			continue;
		}
		struct ksmp_region *r = &ksmp_st->regions[i];
		if (from == KSMP_REGION_MERGEABLE)
			count(r->kind, r->rule, -(int64_t)(oe - os), 0);
		else if (to == KSMP_REGION_MERGEABLE)
			count(r->kind, r->rule, (int64_t)(oe - os), 0);
		if (s < os)
			piece(i, s, os, from);
		if (oe < e)
			piece(i, oe, e, from);
		seq_enter(r);
		r->state = (uint8_t)to;
		seq_leave(r);
		set_range(i, os, oe);
		join(i);
	}
	ksmp_spin_unlock(&tlock);
	return first;
}

void ksmp_regions_lock(void)
{
	ksmp_spin_lock(&tlock);
}

void ksmp_regions_unlock(void)
{
	ksmp_spin_unlock(&tlock);
}

void ksmp_regions_after_fork(void)
{
	uint32_t old = hint;
	tlock = 0;
	first_free = 0;
	nused = 0;
	hint = 0;
	bb_lo = UINTPTR_MAX;
	bb_hi = 0;
	uint32_t n = ksmp_st->nregions_hint;
	if (n > KSMP_STATE_REGIONS)
		n = KSMP_STATE_REGIONS;
	uint32_t lim = old > n ? old : n;
	for (uint32_t i = 0; i < lim; i++) {
		const struct ksmp_region *r = &ksmp_st->regions[i];
		used[i] = i < n && r->state != KSMP_REGION_FREE;
		if (!used[i]) {
			idx[i].start = idx[i].end = 0;
			continue;
		}
		idx[i].start = r->start;
		idx[i].end = r->start + r->len;
		nused++;
		hint = i + 1;
		if (idx[i].start < bb_lo)
			bb_lo = idx[i].start;
		if (idx[i].end > bb_hi)
			bb_hi = idx[i].end;
	}
}
