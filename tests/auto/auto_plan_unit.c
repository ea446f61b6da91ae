/*
 * auto_plan_unit.c - mode auto's deciding side (mergefs/auto_plan.c) on
 * chunks set up by hand, without KSM: a pruned chunk is counted every
 * quarter of its delay; one that gained 1/8 of its pages since it was
 * pruned is probed before its delay is out, one that gained less or was
 * not counted is not; a chunk found pruned with no history takes its
 * first count as the base, and so does one that had sub-units pruned
 * (its count then left them out); the back-off doubles the delay and the
 * time between counts.
 */
#include <stdint.h>
#include <string.h>

#include "../../mergefs/auto.h"
#include "../tap.h"

#define CHUNK (2ull << 20)
#define REPROBE 60u

static struct chunk c[1];
static struct proc p = { .c = c, .n = 1, .cap = 1 };

/* One chunk pruned at t0 with `at` present pages counted, sub-units sub
 * pruned before. */
static void prune_sub(uint64_t t0, uint32_t at, uint32_t sub)
{
	memset(c, 0, sizeof(c));
	c->addr = 64 * CHUNK;
	c->present = at;
	c->sub = sub;
	auto_pruned(c, REPROBE, t0);
}

static void prune(uint64_t t0, uint32_t at)
{
	prune_sub(t0, at, 0);
}

/* A cycle at now: the survey counted `present` pages if looked. */
static int plan(uint64_t now, int looked, uint32_t present)
{
	c->act = 0;
	c->looked = (uint8_t)looked;
	if (looked)
		c->present = present;
	auto_plan(&p, CHUNK, 128, REPROBE, now);
	return c->act;
}

int main(void)
{
	tap_plan(12);
	prune(1000, 16);
	is_int(c->look_ms, 15000, "counted every quarter of the 60 s delay");
	plan(2000, 0, 0);
	ok(!c->look, "not counted before a quarter of the delay");
	plan(16000, 0, 0);
	ok(c->look && c->look_at == 31000, "counted after it (look set, next count 15 s later)");
	ok(plan(16500, 1, 16 + 63) == 0, "gained 63 pages (< 1/8 of 512): not probed");
	ok(plan(17000, 1, 16 + 64) == 2, "gained 64 pages: probed before its delay is out");
	ok(plan(17000, 0, 512) == 0, "not counted this cycle: no probe, whatever present says");

	/* found pruned (mergefs restarted): the first count is the base */
	memset(c, 0, sizeof(c));
	c->addr = 64 * CHUNK;
	c->pruned = 1;
	plan(1000, 0, 0);
	ok(c->probe_at == 61000 && c->at_prune == NO_COUNT,
	   "found pruned: first probe after the delay, no base yet");
	ok(plan(20000, 1, 400) == 0 && c->at_prune == 400,
	   "its first count is the base, not a reason to probe");
	ok(plan(40000, 1, 464) == 2, "64 pages more than that base: probed");

	/* 8 of its 32 sub-units pruned before (128 pages not counted): the
	 * whole chunk counted at the first look has not filled */
	prune_sub(1000, 384, 0xff);
	ok(c->pruned && !c->sub && c->at_prune == NO_COUNT,
	   "sub-units pruned before: no base at the prune");
	ok(plan(16000, 1, 512) == 0 && c->at_prune == 512,
	   "the whole chunk counted at the first look: the base, not a probe");

	/* pruned a second time without having stayed kept: doubled */
	prune(1000, 16);
	uint64_t d = auto_restart(&c->level, &c->kept_at, REPROBE, 20000);
	auto_look(c, 80, d, 20000);
	is_int(c->look_ms, 30000, "pruned again soon: delay 120 s, counted every 30 s");
	return tap_done();
}
