/*
 * early.c - mappings made before the library's constructor ran.
 *
 * The loader runs the constructors of the program's libraries before the
 * preloaded library's own (dependencies first; the library depends on
 * none of them), and those constructors may allocate: redis-server's
 * libgpg-error calls bindtextdomain, whose malloc is jemalloc's, which
 * maps its first extents (2 and 4 MiB) right then, through our mmap but
 * before there is a policy to judge them. Every later allocation of that
 * arena lands in them, so they stayed unadvised for the program's life
 * (bench-real's redis: ~540 present pages per instance, ~180 of them
 * merged under whole-process merging). So until the engine starts, the
 * mmap interposer notes each successful call here (address, length,
 * protection, flags, caller), munmap and mremap keep the notes in step,
 * and the engine judges the noted mappings at start as if they had been
 * made then. A full table drops the mappings beyond it (counted, logged).
 *
 * Never: allocate, use stdio, or leave errno changed (callers save it).
 */
#include <sys/mman.h>
#include <unistd.h>

#include "lib.h"

#define EARLY_MAX 64

struct early {
	uintptr_t a;
	size_t len;
	int prot, flags, fd;
	const void *ret;
};

static struct early early[EARLY_MAX] KSMP_BIG;
static unsigned nearly, early_lost;
static int early_lock;
static bool early_closed;

bool ksmp_early_open(void)
{
	return !__atomic_load_n(&early_closed, __ATOMIC_ACQUIRE);
}

static void add(const struct early *e)
{
	if (nearly < EARLY_MAX)
		early[nearly++] = *e;
	else
		early_lost++;
}

/* Drop or trim every note that intersects [a, a+len), len rounded up to
 * whole pages as the kernel unmaps them (munmap(p, 100) takes a page):
 * a note trimmed to an address inside a page could never be advised. */
static void cut(uintptr_t a, size_t len)
{
	size_t ps = (size_t)ksmp_pagesize();
	uintptr_t b = a + ((len + ps - 1) & ~(ps - 1));
	if (b < a)
		b = UINTPTR_MAX;
	for (unsigned i = 0; i < nearly;) {
		struct early *e = &early[i];
		uintptr_t lo = e->a, hi = e->a + e->len;
		if (hi <= a || lo >= b) {
			i++;
			continue;
		}
		if (lo < a && hi > b) {		/* a hole in the middle */
			struct early tail = *e;
			tail.a = b;
			tail.len = hi - b;
			e->len = a - lo;
			add(&tail);
			i++;
		} else if (lo < a) {
			e->len = a - lo;
			i++;
		} else if (hi > b) {
			e->a = b;
			e->len = hi - b;
			i++;
		} else {
			early[i] = early[--nearly];
		}
	}
}

/* After a successful mmap before the engine started (else straight to
 * the engine: it started meanwhile). */
void ksmp_early_mmap(void *p, size_t len, int prot, int flags, int fd,
		     const void *ret)
{
	struct early e = { (uintptr_t)p, len, prot, flags, fd, ret };
	ksmp_spin_lock(&early_lock);
	bool closed = early_closed;
	if (!closed && len) {
		cut(e.a, len);		/* MAP_FIXED replaced what was there */
		add(&e);
	}
	ksmp_spin_unlock(&early_lock);
	if (closed && __atomic_load_n(&ksmp_cfg.engine, __ATOMIC_ACQUIRE) ==
		      KSMP_ENGINE_REGIONS)
		ksmp_engine_mmap(p, len, prot, flags, fd, ret);
}

/*
 * munmap (nw == 0) or mremap of [old, old+oldlen) to [nw, nw+newlen)
 * before the engine started: each part of a note inside the old range
 * is noted where it went (a move of part of a mapping too; the last
 * part takes what the range grew by), and no longer where it was unless
 * the old range stays mapped (kept: MREMAP_DONTUNMAP, its flags as
 * before).
 */
void ksmp_early_moved(uintptr_t old, size_t oldlen, uintptr_t nw, size_t newlen,
		      bool kept)
{
	size_t ps = (size_t)ksmp_pagesize();
	uintptr_t oend = old + ((oldlen + ps - 1) & ~(ps - 1));
	uintptr_t nend = nw + ((newlen + ps - 1) & ~(ps - 1));
	static struct early moved[EARLY_MAX] KSMP_BIG;	/* under early_lock */
	unsigned n = 0;
	ksmp_spin_lock(&early_lock);
	if (early_closed) {
		ksmp_spin_unlock(&early_lock);
		return;
	}
	for (unsigned i = 0; nw && newlen && i < nearly; i++) {
		uintptr_t lo = early[i].a, ns, ne;
		uintptr_t hr = lo + ((early[i].len + ps - 1) & ~(ps - 1));
		if (!ksmp_moved_part(lo, lo + early[i].len, hr, old, oend, nw, nend,
				     &ns, &ne))
			continue;
		moved[n] = early[i];
		moved[n].a = ns;
		moved[n].len = ne - ns;
		n++;
	}
	if (!kept)
		cut(old, oldlen);
	if (nw && newlen) {
		cut(nw, newlen);
		for (unsigned k = 0; k < n; k++)
			add(&moved[k]);
	}
	ksmp_spin_unlock(&early_lock);
}

/* The n mappings noted (the table no longer changes: closed), judged
 * now; apart, so that its copy of the table is no part of the start's
 * stack unless there is something to judge. */
static KSMP_COLD void replay(unsigned n, unsigned lost)
{
	struct early copy[EARLY_MAX];
	ksmp_spin_lock(&early_lock);
	for (unsigned i = 0; i < n; i++)
		copy[i] = early[i];
	nearly = 0;
	ksmp_spin_unlock(&early_lock);
	if (__atomic_load_n(&ksmp_cfg.engine, __ATOMIC_ACQUIRE) != KSMP_ENGINE_REGIONS)
		return;
	for (unsigned i = 0; i < n; i++)
		ksmp_engine_mmap((void *)copy[i].a, copy[i].len, copy[i].prot,
				 copy[i].flags, copy[i].fd, copy[i].ret);
	if (n || lost)
		ksmp_logf(KSMP_LOG_DEBUG, "%u mappings made before start judged now,"
			  " %u not noted (table full)", n, lost);
}

/* At the engine's start (init.c, ksmp_busy set): no more notes; the
 * regions engine judges what was noted. */
void ksmp_early_replay(void)
{
	ksmp_spin_lock(&early_lock);
	__atomic_store_n(&early_closed, true, __ATOMIC_RELEASE);
	unsigned n = nearly, lost = early_lost;
	ksmp_spin_unlock(&early_lock);
	if (n || lost)
		replay(n, lost);
}
