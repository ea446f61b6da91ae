/*
 * auto.h - what mergefs's mode auto controller (auto.c) keeps per process
 * and chunk, shared with its measuring side (auto_survey.c). Private to
 * mergefs/.
 */
#ifndef MERGEFS_AUTO_H
#define MERGEFS_AUTO_H

#include <stdint.h>
#include <sys/types.h>

#include "ksmp_pagemap.h"
#include "ksmp_state.h"
#include "policy.h"

#define JUDGE_SCANS	3		/* full scans before a chunk is judged */
#define PLATEAU_SCANS	4		/* ... and the process's merging pages
					 * stood still for this many */
#define MAX_JUDGE_SCANS	16		/* ... or this many passed anyway */
#define MAX_LEVEL	6		/* reprobe delay: at most 64x the first */
#define KEEP_MISSED	64		/* passes a live process may go unseen
					 * (its block busy, not attachable for
					 * a while) before its chunks' history
					 * is dropped */
#define SKIP_LEVEL	5		/* a process whose commands fail (stopped,
					 * refused, no agent) is left out of the
					 * next 2, 4, ... at most 32 passes */
#define MAX_CMDS	32		/* commands per process and cycle */
#define QUICK_MS	250		/* a process still being judged, or
					 * whose commands MAX_CMDS cut short,
					 * is looked at again this soon */
#define QUICK_FOR_MS	60000		/* ... while it is this young (the
					 * first case) */
/* What one command may cost the target: the agent's madvise runs in its
 * signal handler, and MADV_UNMERGEABLE holds the mmap write lock.
 * Measured (bench/ksmp-stall, four runs, medians of 5 rounds): a prune
 * of 64 MiB without KSM pages 1.2-2.5 ms of the target's thread (256 MiB:
 * 3.4-6.0 ms), a probe 0.05 ms. KSM pages in the range cost more than
 * their copy (not the 2.5 us each assumed here before), most when many
 * share one KSM page: 64 MiB holding 1000 2.9-5.6 ms (a worst round 9.3
 * ms), holding 100 1.5-2.8 ms (worst round 3.5 ms). Only ranges without
 * a shared page are pruned (plan()), and a chunk bigger than
 * MAX_CMD_BYTES is measured and pruned in pieces of that size (bounds()). */
#define MAX_CMD_BYTES	KSMP_AUTO_CHUNK_USED_MAX	/* 64 MiB */
#define PM_PAUSE_US	50		/* after each 2 MiB of present pages
					 * read from pagemap */
#define SUBS		32		/* sub-units of a chunk (64 KiB of 2 MiB) */
#define MIN_SUB		(64u << 10)	/* none smaller */
#define MAX_CHUNKS	(1u << 18)	/* a process whose records span more
					 * chunks (512 GiB of 2 MiB) is left
					 * as advised: its block is its own */
#define REFILL		8		/* a pruned chunk that gained 1/REFILL
					 * of its pages since it was pruned is
					 * probed before its delay is out */
#define NO_COUNT	UINT32_MAX
#define USER_END	(1ull << 57)	/* above any user address */
#define AUTO_LOCK	"/run/mergefs-auto.lock"

struct chunk {
	uint64_t addr;
	uint64_t since;		/* full_scans when advised or probed */
	uint64_t probe_at;	/* pruned: when to probe again (ms) */
	uint64_t look_at;	/* pruned: when to count its present pages
				 * again (ms), to probe early if it filled */
	uint32_t look_ms;	/* ... every this many ms: the probe delay/4 */
	uint32_t at_prune;	/* pruned: its present pages then (NO_COUNT:
				 * not known, the first look sets it) */
	uint32_t present;	/* present pages now */
	uint32_t last;		/* present pages at the last look */
	uint32_t shared;	/* of which mapped more than once */
	uint32_t changes;	/* times the library pruned or probed it for us */
	uint8_t eligible;	/* measured long enough to be judged */
	uint8_t pruned;
	uint8_t level;		/* times pruned in a row */
	uint64_t kept_at;	/* judged and kept since (ms; 0: not) */
	uint8_t mark;		/* seen this cycle */
	uint8_t act;		/* this cycle: 1 prune, 2 probe */
	uint8_t look;		/* pruned: the next survey counts its
				 * present pages (into present) */
	uint8_t looked;		/* ... this survey did */
	uint8_t cut_lo, cut_hi;	/* a run ending at its low (high) edge
				 * splits a VMA: a record goes on there */
	uint8_t starts, ends;	/* a record starts at its low edge, ends
				 * at its high edge */
	uint32_t live, sh;	/* sub-units with present, with shared pages */
	uint32_t sub;		/* kept chunk: its sub-units pruned */
	uint32_t sub_plan;	/* this cycle: sub-units to prune */
	uint8_t sub_level;	/* times sub-units were pruned in a row */
	uint8_t sub_probe;	/* this cycle: probe the sub-units */
	uint32_t sub_was;	/* the sub-units last probed */
	uint64_t sub_probe_at;
	uint64_t sub_kept_at;	/* some of those merged since (ms; 0: not) */
};

struct proc {
	pid_t pid;
	uint64_t starttime;
	uint64_t commands;	/* ctl.commands after our last command */
	int others;		/* others' commands landed while ours went out */
	long long merging;	/* ksm_merging_pages at the last look */
	uint64_t merging_since;	/* full_scans when it last changed */
	uint64_t first_ms;	/* when first seen */
	uint64_t prunes, probes;	/* its chunks pruned, probed (done: not -ENOENT) */
	uint64_t measured;	/* its chunks whose pagemap was read */
	uint32_t max_changes;	/* most changes of one chunk */
	uint64_t quick_at;	/* look again then, before the next pass
				 * (0: at the next pass) */
	uint64_t full_seen;	/* full_scans at the last look */
	int more;		/* MAX_CMDS cut the last look's commands */
	unsigned missed;	/* passes in a row that did not see it */
	uint8_t fail_level;	/* looks in a row whose commands failed */
	unsigned skip;		/* passes left that do not look at it */
	struct chunk *c;	/* sorted by addr */
	size_t n, cap;
	int seen;
	struct proc *next;
};

/* Walk the advised records of st: learn p's chunks (of chunk bytes),
 * measure the mergeable ones from the pagemap fd, mark which may be
 * judged. Returns chunks measured or -errno. */
int auto_survey(struct proc *p, const struct ksmp_state *st, uint64_t chunk,
		uint64_t full, int fd);
/* Decide p's prunes and probes (chunk act, sub_plan, sub_probe) for now,
 * within vmas VMAs added; reprobe: the policy's auto-reprobe seconds. */
void auto_plan(struct proc *p, uint64_t chunk, unsigned vmas,
	       unsigned reprobe, uint64_t now);
/* A range pruned again: its delay before the next probe (ms), doubling
 * unless it stayed kept (kept_at) that long; see auto_plan.c. */
uint64_t auto_restart(uint8_t *level, uint64_t *kept_at, unsigned reprobe,
		      uint64_t now);
/* Chunk c taken as pruned (a prune command went through): its back-off
 * and its counts (auto_plan.c). */
void auto_pruned(struct chunk *c, unsigned reprobe, uint64_t now);
/* Chunk c pruned with present pages (NO_COUNT: not known) and a delay
 * of d ms before its probe: its probe_at, and when to count its pages
 * (auto_plan.c). */
void auto_look(struct chunk *c, uint32_t present, uint64_t d, uint64_t now);
/* The sub-units (of sub bytes) that [lo, hi) overlaps, offsets in a chunk. */
uint32_t auto_sub_bits(uint64_t lo, uint64_t hi, uint64_t sub);

#endif
