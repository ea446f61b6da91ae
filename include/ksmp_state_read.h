/*
 * ksmp_state_read.h - the one reader of a state block (ksmp_state.h), for
 * mergefs (which maps the block) and the ksmpreload command (which copies
 * it through /proc/PID/mem): the identity check and the seqlock read of a
 * region slot. Header-only, no allocation, no libc beyond memcpy.
 */
#ifndef KSMP_STATE_READ_H
#define KSMP_STATE_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/types.h>

#include "ksmp_state.h"

/*
 * Whether st (maplen bytes readable) is a block of this version written
 * for the process pid (nspid: its pid in its own namespace, or 0), and,
 * if it records a start time (the library leaves it 0), one of the
 * process that started at starttime (field 22 of /proc/PID/stat).
 *
 * The block cannot prove it belongs to the process now using the pid:
 * its contents are the process's own word. That is the reader's part:
 * take the start time, open a pidfd, take the start time again (equal:
 * the pidfd names that process), read the block from that pid's maps,
 * then check the pidfd's process is still alive (it was, all along: the
 * pid was not reused meanwhile); or read through a /proc/PID/mem opened
 * before, which stays bound to that process's memory. The pid check
 * here leaves out a block that a process sharing another's memory
 * (vfork, CLONE_VM) shows in its maps.
 */
static inline bool ksmp_state_identity_ok(const struct ksmp_state *st,
					  size_t maplen, pid_t pid, pid_t nspid,
					  uint64_t starttime)
{
	return maplen >= sizeof(*st) && st->magic == KSMP_STATE_MAGIC &&
	       st->version == KSMP_STATE_VERSION && st->size >= sizeof(*st) &&
	       st->size <= maplen &&
	       (st->pid == pid || (nspid > 0 && st->pid == nspid)) &&
	       (st->starttime == 0 || st->starttime == starttime);
}

/* How many region slots to look at: the writer's hint, clamped. */
static inline uint32_t ksmp_state_slots(const struct ksmp_state *st)
{
	uint32_t n = __atomic_load_n(&st->nregions_hint, __ATOMIC_RELAXED);
	return n > KSMP_STATE_REGIONS ? KSMP_STATE_REGIONS : n;
}

/*
 * Copy slot src into dst consistently (its sequence even and unchanged
 * across the copy, a few tries). Returns 0 when the slot is in use and
 * copied (its caller name NUL-terminated), -1 when free, or changing
 * under us on every try.
 */
static inline int ksmp_region_read(const struct ksmp_region *src,
				   struct ksmp_region *dst)
{
	for (int tries = 0; tries < 4; tries++) {
		uint32_t s1 = __atomic_load_n(&src->seq, __ATOMIC_ACQUIRE);
		if (s1 & 1)
			continue;
		memcpy(dst, src, sizeof(*dst));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		uint32_t s2 = __atomic_load_n(&src->seq, __ATOMIC_RELAXED);
		if (s1 != s2)
			continue;
		dst->caller[sizeof(dst->caller) - 1] = 0;
		return dst->state == KSMP_REGION_FREE ? -1 : 0;
	}
	return -1;
}

#endif
