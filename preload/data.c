/*
 * data.c - region kind data: the writable static data of loaded objects,
 * .data and .bss, with the anonymous "bss tail" that follows an object's
 * last file-backed page. The loader maps these with internal calls that
 * the interposers never see, so they are found with dl_iterate_phdr: for
 * each object but this library (its own state lives in its .bss), each
 * PT_LOAD with PF_W, less its PT_GNU_RELRO part (read-only after
 * relocation, and pointers that differ per process), from the first whole
 * page after that to the page-rounded end of p_memsz. The object is the
 * region's caller: caller= rules judge it by the object's name.
 *
 * When: not at start-up (an exec that does not allocate pays nothing):
 * the first check comes with the first advice of the heap (at start only
 * when the policy does not merge the heap, or malloc is not glibc's);
 * later ones at slow points that already exist (a new mmap record, a
 * large chunk, a new arena, pthread_create), where one look at the
 * loader's counters (dlpi_adds, dlpi_subs) tells whether objects came or
 * went. dlclose (thread.c) checks at once, so the data records of an
 * object the loader unmapped go with it. A forked child that must not
 * walk (caller.c) cannot tell which object a dlclose unmapped: there all
 * data records go at its first dlclose, so that none can come to stand
 * for a range reused by another mapping, and their advice with them (the
 * static data of the objects still loaded stops merging: an unmerge by
 * command reaches only what records hold, and once kept it advised, the
 * child's .data and .bss stayed merged after a write of 0 to mergefs's
 * PID/merge). So do those of a child forked while a dlclose was under way
 * (init.c), which that dlclose never tells.
 *
 * Each range is judged once (advised or skipped) and remembered while its
 * object is loaded, so that the mode auto controller's pruning stands.
 *
 * Never: allocate, read /proc, run in the control signal handler, or hold
 * a lock of ours while the loader's lock is taken (a thread in dlopen
 * holds the loader's lock when it mallocs: it takes ours after it).
 */
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

#include "lib.h"

#define MAX_RANGES 512

struct range {
	uintptr_t lo, hi;
	char name[KSMP_STATE_CALLER_MAX];	/* the object's basename */
};

static struct range known[MAX_RANGES] KSMP_BIG;	/* judged, still loaded */
static unsigned nknown;
static struct range found[MAX_RANGES] KSMP_BIG;	/* this scan's */
static unsigned nfound;
static unsigned long long seen[2];	/* loader counters at the last scan */
static bool scanned;
static int dlock;
static int again;	/* a check came while another thread held dlock */
static int unloaded;	/* a dlclose since the last check */
static uintptr_t pagesize;

static int scan_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	const ElfW(Phdr) *ph = info->dlpi_phdr;
	uintptr_t self = (uintptr_t)&known, rlo = 0, rhi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		uintptr_t s = info->dlpi_addr + ph[i].p_vaddr;
		if (ph[i].p_type == PT_GNU_RELRO) {
			rlo = s;
			rhi = s + ph[i].p_memsz;
		} else if (ph[i].p_type == PT_LOAD && self - s < ph[i].p_memsz) {
			return 0;	/* this library */
		}
	}
	for (int i = 0; i < info->dlpi_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || !(ph[i].p_flags & PF_W))
			continue;
		uintptr_t lo = info->dlpi_addr + ph[i].p_vaddr;
		uintptr_t hi = lo + ph[i].p_memsz;
		uintptr_t end = (hi + pagesize - 1) & ~(pagesize - 1);
		if (rlo < hi && rhi > lo) {
			if (rlo <= lo)
				lo = rhi;
			else	/* RELRO inside the segment: what is before it */
				end = rlo & ~(pagesize - 1);
		}
		lo = (lo + pagesize - 1) & ~(pagesize - 1);
		if (lo >= end)
			continue;
		if (nfound == MAX_RANGES) {
			__atomic_fetch_add(&ksmp_st->regions_dropped, 1, __ATOMIC_RELAXED);
			return 1;
		}
		found[nfound].lo = lo;
		found[nfound].hi = end;
		ksmp_object_name(info->dlpi_name, found[nfound].name,
				 sizeof(found[nfound].name));
		nfound++;
	}
	return 0;
}

/* The same range of the same object: one loaded where an unloaded one
 * was, between two scans, is new. */
static bool has(const struct range *set, unsigned n, const struct range *r)
{
	for (unsigned i = 0; i < n; i++)
		if (set[i].lo == r->lo && set[i].hi == r->hi &&
		    !strcmp(set[i].name, r->name))
			return true;
	return false;
}

/* False when the walk did not happen (a forked child that must not walk). */
static bool scan(void)
{
	if (!pagesize)
		pagesize = ksmp_pagesize();
	nfound = 0;
	if (!ksmp_loader_walk(scan_cb, NULL))
		return false;
	/* gone (dlclose, a failed dlopen): their records go, and only those */
	for (unsigned i = 0; i < nknown;) {
		if (has(found, nfound, &known[i])) {
			i++;
			continue;
		}
		ksmp_regions_forget_kind(known[i].lo, known[i].hi - known[i].lo,
					 KSMP_KIND_DATA);
		known[i] = known[--nknown];
	}
	for (unsigned i = 0; i < nfound && nknown < MAX_RANGES; i++) {
		if (has(known, nknown, &found[i]))
			continue;
		known[nknown++] = found[i];
		ksmp_engine_data(found[i].lo, found[i].hi - found[i].lo,
				 found[i].name);
	}
	return true;
}

/* A forked child that must not walk: after a dlclose, every record, and
 * its advice. */
static void forget_all(void)
{
	for (unsigned i = 0; i < nknown; i++)
		ksmp_engine_data_drop(known[i].lo, known[i].hi - known[i].lo);
	nknown = 0;
}

/* Under dlock: scan when the loader's counters changed since. */
static void check_locked(void)
{
	unsigned long long c[2];
	bool gone = __atomic_exchange_n(&unloaded, 0, __ATOMIC_SEQ_CST);
	if (!ksmp_loader_counters(c)) {
		if (gone)	/* a forked child that must not walk */
			forget_all();
		return;
	}
	if (scanned && c[0] == seen[0] && c[1] == seen[1])
		return;
	if (scan()) {
		scanned = true;
		seen[0] = c[0];
		seen[1] = c[1];
	}
}

void ksmp_data_unloaded(void)
{
	__atomic_store_n(&unloaded, 1, __ATOMIC_SEQ_CST);
	ksmp_data_check();
}

void ksmp_data_check(void)
{
	if (!__atomic_load_n(&ksmp_cfg.want_data, __ATOMIC_RELAXED) ||
	    __atomic_load_n(&ksmp_cfg.engine, __ATOMIC_RELAXED) != KSMP_ENGINE_REGIONS)
		return;
	int saved = errno;
	ksmp_busy++;
	/* A check that finds another thread at it (a dlclose must not leave
	 * an unloaded object's records behind) leaves "again" set: the holder
	 * looks once more after it lets go (at most 4 rounds). */
	__atomic_store_n(&again, 1, __ATOMIC_SEQ_CST);
	for (int n = 0; n < 4 && __atomic_load_n(&again, __ATOMIC_SEQ_CST); n++) {
		if (__atomic_exchange_n(&dlock, 1, __ATOMIC_SEQ_CST))
			break;	/* the holder will see "again" */
		__atomic_store_n(&again, 0, __ATOMIC_SEQ_CST);
		check_locked();
		__atomic_store_n(&dlock, 0, __ATOMIC_SEQ_CST);
	}
	ksmp_busy--;
	errno = saved;
}

void ksmp_data_after_fork(void)
{
	dlock = 0;	/* the thread that held it is gone; known[] still holds */
	again = 0;
}
