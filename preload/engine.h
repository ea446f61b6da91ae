/*
 * engine.h - what the control agent (control.c) may ask of the advice
 * engine. Implemented by the library's engine; called from the control
 * signal handler, so every function here is async-signal-safe: no
 * allocation, no stdio, no locks that the interrupted code may hold.
 * All return 0 or -errno.
 */
#ifndef KSMP_ENGINE_H
#define KSMP_ENGINE_H

#include <stdint.h>

/* Undo everything the library advised: prctl(PR_SET_MEMORY_MERGE, 0) in
 * process mode, MADV_UNMERGEABLE over every recorded region in regions
 * mode. Marks the regions KSMP_REGION_UNMERGED and sets merge_state 0. */
int ksmp_engine_unmerge_all(void);

/* Apply the policy again: prctl 1, or MADV_MERGEABLE over the recorded
 * regions that are still mapped; merge_state 1. */
int ksmp_engine_merge_all(void);

/* madvise(addr, len, advice) for a range named by the operator, after
 * checking that it is page-aligned and mapped (else -EINVAL / -ENOMEM);
 * recorded in the region table. advice: MADV_MERGEABLE/MADV_UNMERGEABLE. */
int ksmp_engine_range(uint64_t addr, uint64_t len, int advice);

/* Mode auto: prune (MADV_UNMERGEABLE; state KSMP_REGION_PRUNED) the
 * mergeable parts the library advised within [addr, addr+len), or probe
 * (MADV_MERGEABLE) the pruned parts again. -EOPNOTSUPP outside mode auto,
 * -EAGAIN while unmerged by command, -ENOENT when the range holds no such
 * part, -EBUSY when the region table is busy. */
int ksmp_engine_auto(uint64_t addr, uint64_t len, int prune);

/* madvise(addr, len, advice) and nothing else: the batches of an unmerge
 * that mergefs checks against the memory left (mergefs/unmerge.c), and
 * their undoing; the region table and merge_state are left alone. Checks
 * as ksmp_engine_range. */
int ksmp_engine_pages(uint64_t addr, uint64_t len, int advice);

#endif
