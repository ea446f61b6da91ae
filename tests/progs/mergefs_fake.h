/*
 * mergefs_fake.h - a stand-in for libksmpreload.so in mergefs tests: it
 * publishes a state block exactly as include/ksmp_state.h describes and
 * implements preload/engine.h over its own region table, so that the
 * control agent (preload/control.c) and mergefs can be tested without the
 * real library.
 */
#ifndef MERGEFS_FAKE_H
#define MERGEFS_FAKE_H

#include <stddef.h>
#include <stdint.h>
#include "ksmp_state.h"

/* Create and publish the block (memfd, MAP_SHARED, closed fd,
 * MADV_DONTFORK). process: engine process (prctl) instead of regions.
 * Returns NULL on failure (errno set). */
struct ksmp_state *fake_state_create(int process);

/* Record an advised region (already madvised by the caller). */
void fake_region_add(struct ksmp_state *st, uint64_t start, uint64_t len,
		     int kind, int rule, const char *caller);

/* When non-zero, unmerge/merge of everything fail with this errno (as
 * the real engine does when the kernel cannot get memory). */
extern int fake_fail_errno;

/* When non-zero, an unmerge of everything first takes this many
 * milliseconds (inside the control handler, as a large unmerge does). */
extern int fake_slow_ms;

/* The memfd behind the block: sealed against resizing on tmpfs, as the
 * library makes it (default), unsealed, or on hugetlbfs. */
enum { FAKE_BLOCK_SEALED, FAKE_BLOCK_UNSEALED, FAKE_BLOCK_HUGETLB };
extern int fake_block;

#endif
