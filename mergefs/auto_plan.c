/*
 * auto_plan.c - the deciding side of mode auto's controller (auto.c):
 * which chunks to prune or probe, and which sub-units of kept chunks,
 * within the process's VMA budget; the doubling back-off (auto_restart()).
 */
#include <stddef.h>

#include "auto.h"

static int adjacent(const struct proc *p, size_t i, size_t j, uint64_t chunk)
{
	return i < p->n && j < p->n && p->c[i].addr + chunk == p->c[j].addr;
}

/* VMAs the runs of pruned sub-units m of kept chunk c add: two each, one
 * at the chunk's edge if a record goes on past it (runs that meet a
 * pruned neighbour count too: an upper bound). */
static unsigned sub_cost(uint32_t m, const struct chunk *c)
{
	unsigned n = 0;
	for (unsigned b = 0; b < SUBS; b++) {
		uint32_t bit = 1u << b;
		if (!(m & bit))
			continue;
		if (!b || !(m & (bit >> 1)))
			n += b ? 1 : c->cut_lo;
		if (b == SUBS - 1 || !(m & (bit << 1)))
			n += b == SUBS - 1 ? c->cut_hi : 1;
	}
	return n;
}

/* VMAs the pruned runs add (adjacent pruned chunks are one run): one
 * for each end of a run inside a record. */
static unsigned vma_cost(const struct proc *p, uint64_t chunk)
{
	unsigned n = 0;
	for (size_t i = 0; i < p->n; i++) {
		if (!p->c[i].pruned) {
			n += sub_cost(p->c[i].sub, &p->c[i]);
			continue;
		}
		if (!(i && adjacent(p, i - 1, i, chunk) && p->c[i - 1].pruned))
			n += p->c[i].cut_lo;
		if (!(adjacent(p, i, i + 1, chunk) && p->c[i + 1].pruned))
			n += p->c[i].cut_hi;
	}
	return n;
}

/* A range judged and kept: its back-off starts over (auto_restart()) once
 * it stayed so for as long as its next delay would be. */
static void kept(uint64_t *at, uint64_t now)
{
	if (!*at)
		*at = now;
}

/* Pruned again: the delay before the next probe starts over only if the
 * range merged (was kept) for at least that long since; one that merges
 * when offered and stops soon after keeps doubling. Returns the delay. */
uint64_t auto_restart(uint8_t *level, uint64_t *kept_at, unsigned reprobe, uint64_t now)
{
	if (*kept_at && now - *kept_at >= ((uint64_t)reprobe * 1000 << *level))
		*level = 0;
	*kept_at = 0;
	uint64_t d = (uint64_t)reprobe * 1000 << *level;
	if (*level < MAX_LEVEL)
		(*level)++;
	return d;
}

/* Chunk c pruned with present pages (NO_COUNT: not known) and a delay
 * of d ms before its probe: the probe is due then, and its present pages
 * are counted every d/4 (at least 1 s) meanwhile, for filled(). */
void auto_look(struct chunk *c, uint32_t present, uint64_t d, uint64_t now)
{
	c->probe_at = now + d;
	c->at_prune = present;
	c->look_ms = (uint32_t)(d / 4 < 1000 ? 1000 : d / 4 > UINT32_MAX ? UINT32_MAX : d / 4);
	c->look_at = now + c->look_ms;
	c->look = c->looked = 0;
}

/*
 * Chunk c taken as pruned, its probe after the (doubling) back-off. Its
 * present pages are the base that filled() compares later counts with
 * only when the survey counted them all: in a chunk some of whose
 * sub-units were pruned, only the rest was counted (a pruned record part
 * of a kept chunk gives its sub-units, not its pages), and the whole chunk
 * counted at the first look seemed to have filled: tests/auto/auto_backoff
 * saw such a chunk probed at that look, 6 s after a prune whose probe was
 * due 20 s later. Its first count is the base then.
 */
void auto_pruned(struct chunk *c, unsigned reprobe, uint64_t now)
{
	uint32_t base = c->sub ? NO_COUNT : c->present;
	c->pruned = 1;
	c->sub = 0;
	auto_look(c, base, auto_restart(&c->level, &c->kept_at, reprobe, now), now);
}

/*
 * A pruned chunk counted by this survey (auto_survey()) that gained
 * 1/REFILL of its pages since it was pruned: new contents, probed before
 * its delay is out. The back-off still holds: pruned again, its delay
 * doubles and so does the time between counts (auto_look()), so a chunk
 * that fills with what never merges is offered less and less often.
 * bench-real's jvm-parallel (held-out): the Java heap's young generation
 * was pruned while nearly empty, seconds after start; more than 40,000
 * of its ~45,000 pages were filled after that, in chunks whose first
 * probe was 60 s away, past the benchmark's window.
 */
static int filled(struct chunk *c, uint64_t chunk)
{
	if (!c->looked)
		return 0;
	if (c->at_prune == NO_COUNT) {	/* found pruned: this is the base */
		c->at_prune = c->present;
		return 0;
	}
	return c->present >= c->at_prune + chunk / 4096 / REFILL;
}

/*
 * Decide probes and prunes. An eligible chunk is pruned only when none of
 * its pages is shared; one that holds a shared page is kept (kept()), and
 * only its sub-units without one are pruned (below).
 * Pruning chunks that merge a little, within a share of the process's
 * shared pages, cost twice that share: a chunk's merging, counted when it
 * was judged, grows later (bench-real's node, 4 instances: the brk heap's
 * first 2 MiB held 22-26 shared pages when pruned 3 s after start and
 * 43-47 under whole-process merging once V8 shrank its heap at 16 s; with
 * 2% of the shared pages allowed, the saving was 0.960 of whole-process
 * merging's, 1.012-1.014 without such prunes, rmap 0.33 -> 0.38).
 * Then the VMA budget: an end of a pruned run inside a record costs one,
 * joining a run costs nothing and joining two gives their ends back.
 */
void auto_plan(struct proc *p, uint64_t chunk, unsigned vmas,
	       unsigned reprobe, uint64_t now)
{
	for (size_t i = 0; i < p->n; i++) {
		struct chunk *c = &p->c[i];
		/* found pruned, with no history here (mergefs restarted, a
		 * fork's copy of the records): its first delay, not a probe
		 * at once of all that was pruned */
		if (c->pruned && !c->probe_at)
			auto_look(c, NO_COUNT, (uint64_t)reprobe * 1000, now);
		if (c->sub && !c->sub_probe_at)
			c->sub_probe_at = now + (uint64_t)reprobe * 1000;
		if (c->pruned && (now >= c->probe_at || filled(c, chunk)))
			c->act = 2;
		if (c->pruned && !c->act && now >= c->look_at) {
			c->look = 1;	/* counted by the next survey */
			c->look_at = now + c->look_ms;
		}
		if (!c->eligible)
			continue;
		if (c->shared)
			kept(&c->kept_at, now);
		else if (now >= c->probe_at)	/* re-advised by the library
						 * meanwhile: not pruned again
						 * before its probe */
			c->act = 1;
	}
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
	/* kept chunks: their sub-units without shared pages, with what is
	 * left of the VMA budget; probed again on their own back-off */
	for (size_t i = 0; i < p->n && chunk / SUBS >= MIN_SUB; i++) {
		struct chunk *c = &p->c[i];
		uint32_t dead = c->live & ~c->sh;
		if (c->pruned || c->act == 1)
			continue;
		if (c->sub && now >= c->sub_probe_at) {
			c->sub_probe = 1;
			continue;
		}
		if (!c->eligible || (c->sub && dead) || now < c->sub_probe_at)
			continue;	/* one batch per probe period */
		if (c->sub_was & c->sh)	/* some merged once offered again */
			kept(&c->sub_kept_at, now);
		c->sub_was = 0;
		if (!dead)
			continue;
		long after = have + (long)sub_cost(c->sub | dead, c) - (long)sub_cost(c->sub, c);
		if (after > (long)vmas)
			continue;
		have = after;
		c->sub_plan = dead;
	}
}

