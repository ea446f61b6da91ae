/*
 * caller.c - which shared object made a call: return address -> basename
 * of the object ("libcrypto.so.3"), for the policy's caller= conditions.
 * Only used when the policy has caller rules.
 *
 * A private cache of the address span of every loaded object, built with
 * dl_iterate_phdr and read lock-free under a sequence counter. An address
 * in no known object (a dlopen since the last build, or JIT code) triggers
 * a cheap check of the loader's load/unload counters (dlpi_adds/subs) and
 * a rebuild only when they changed. dlclose (interposed) invalidates the
 * cache, so an address reused by a new object is never given an old name.
 *
 * Never: allocate, or call dladdr (it takes the loader lock on every call).
 */
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <string.h>
#include <sys/single_threaded.h>

#include "lib.h"

#define MAX_OBJS 1024

struct obj {
	uintptr_t lo, hi;
	char name[KSMP_STATE_CALLER_MAX];
};

static struct obj objs[MAX_OBJS] KSMP_BIG;
static unsigned nobjs;
static unsigned gen;		/* odd while rebuilding */
static int rlock;
static int dirty = 1;
static unsigned long long seen_adds = ~0ull, seen_subs = ~0ull;
uint64_t ksmp_caller_epoch;

void ksmp_object_name(const char *dlpi_name, char *buf, size_t size)
{
	char tmp[sizeof(ksmp_st->exe)];
	const char *name = dlpi_name && dlpi_name[0] ? dlpi_name :
			   ksmp_self_exe(tmp, sizeof(tmp));
	const char *b = strrchr(name, '/');
	name = b ? b + 1 : name;
	size_t n = strlen(name);
	if (n >= size)
		n = size - 1;
	memcpy(buf, name, n);
	buf[n] = '\0';
}

static int counters_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	unsigned long long *c = data;
	if (size < offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs))
		return 1;
	c[0] = info->dlpi_adds;
	c[1] = info->dlpi_subs;
	return 1;	/* stop after the first object */
}

/* ----------------------------------------------------------- loader walks
 * Every dl_iterate_phdr of the library goes through ksmp_loader_walk.
 * dl_iterate_phdr takes the loader's dl_load_write_lock, which glibc's
 * fork (2.36) does not reset in the child (only dl_load_lock and
 * dl_load_tls_lock). Any other thread may hold it at fork: one in our
 * own walk, in the program's dl_iterate_phdr, or in a dlopen or dlclose
 * linking objects in or out; the child's first walk then blocks for
 * ever. Waiting for our walks in the prepare handler was not enough
 * (ksmp-forkwalk's child still hung, the lock owned by the thread in
 * dlopen), and the child cannot tell from its memory whether the lock
 * was free: fork copies the parent's pages one by one while its other
 * threads run, so _r_debug.r_state and the lock word may be seen at
 * different moments. So a child forked from a process that ever had
 * another thread (__libc_single_threaded false at the prepare handler)
 * never walks: no kind data for objects it loads (they are not advised),
 * and caller names only from the cache it inherited (a caller in an
 * object loaded in the child is "" and not sure: crypto.c does not cache
 * that verdict). Nor does a child forked by a signal handler that
 * interrupted this thread's own walk (the lock's owner is a thread id
 * the child does not have), or forked while a dlclose was under way (by
 * another thread, or this one before a signal handler forked): that
 * dlclose never returns in the child, so it never tells the caller cache
 * and the data records what it unloaded; init.c voids both at once
 * instead (ksmp_loader_fork_child says so). A child of a
 * single-threaded process walks as before. vfork and posix_spawn run no fork handlers: their child
 * only execs; a child made without them that goes on running the
 * program (_Fork, syscall(SYS_fork), clone without CLONE_VM) never walks
 * either (init.c resets it at its first use of the library), and is as
 * unsafe for the library as for glibc's own locks when the parent had
 * other threads.
 */
static int walks_off;		/* a child that must not walk */
static int closing;		/* dlclose calls under way (thread.c) */
static bool fork_threaded;	/* at the prepare handler: threads were made */
static KSMP_TLS int walking;	/* this thread's walks under way */

bool ksmp_loader_walk(int (*cb)(struct dl_phdr_info *, size_t, void *), void *data)
{
	if (__atomic_load_n(&walks_off, __ATOMIC_RELAXED))
		return false;
	walking++;
	dl_iterate_phdr(cb, data);
	walking--;
	return true;
}

void ksmp_loader_fork_prepare(void)
{
	fork_threaded = !__libc_single_threaded;
}

void ksmp_loader_closing(int delta)
{
	__atomic_fetch_add(&closing, delta, __ATOMIC_SEQ_CST);
}

bool ksmp_loader_fork_child(bool prepared)
{
	bool c = __atomic_load_n(&closing, __ATOMIC_SEQ_CST) != 0;
	__atomic_store_n(&closing, 0, __ATOMIC_RELAXED);
	if (walking || fork_threaded || c || !prepared)
		__atomic_store_n(&walks_off, 1, __ATOMIC_RELAXED);
	return c;
}

bool ksmp_loader_counters(unsigned long long c[2])
{
	c[0] = c[1] = 0;
	return ksmp_loader_walk(counters_cb, c);
}

static int build_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	if (nobjs >= MAX_OBJS)
		return 1;
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uintptr_t s = info->dlpi_addr + ph->p_vaddr;
		uintptr_t e = s + ph->p_memsz;
		if (s < lo)
			lo = s;
		if (e > hi)
			hi = e;
	}
	if (lo >= hi)
		return 0;
	struct obj *o = &objs[nobjs++];
	o->lo = lo;
	o->hi = hi;
	ksmp_object_name(info->dlpi_name, o->name, sizeof(o->name));
	return 0;
}

/* False when the cache could not be brought up to date (another thread
 * is at it, or a child that must not walk). */
static bool refresh(void)
{
	if (__atomic_exchange_n(&rlock, 1, __ATOMIC_ACQUIRE))
		return false;	/* another thread is at it */
	unsigned long long c[2];
	bool inval = __atomic_load_n(&dirty, __ATOMIC_ACQUIRE);
	bool done = ksmp_loader_counters(c);
	if (done && (inval || c[0] != seen_adds || c[1] != seen_subs)) {
		__atomic_store_n(&dirty, 0, __ATOMIC_RELEASE);
		__atomic_fetch_add(&gen, 1, __ATOMIC_ACQ_REL);
		unsigned old = nobjs;
		nobjs = 0;
		if (ksmp_loader_walk(build_cb, NULL)) {
			seen_adds = c[0];
			seen_subs = c[1];
		} else {	/* no walks (a child): keep the cache unless a dlclose voided it */
			nobjs = inval ? 0 : old;
			__atomic_store_n(&dirty, 1, __ATOMIC_RELEASE);
			done = false;
		}
		__atomic_fetch_add(&gen, 1, __ATOMIC_RELEASE);
	} else if (!done && inval && nobjs) {
		/* no walks at all (a child), and a dlclose voided the cache
		 * (before the fork, with no lookup since): an unloaded
		 * object's span may hold another object now */
		__atomic_fetch_add(&gen, 1, __ATOMIC_ACQ_REL);
		nobjs = 0;
		__atomic_fetch_add(&gen, 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&rlock, 0, __ATOMIC_RELEASE);
	return done;
}

static bool lookup(uintptr_t a, char *buf, size_t size)
{
	for (int tries = 0; tries < 3; tries++) {
		unsigned g = __atomic_load_n(&gen, __ATOMIC_ACQUIRE);
		if (g & 1)
			continue;
		bool found = false;
		unsigned n = nobjs;
		for (unsigned i = 0; i < n && i < MAX_OBJS; i++) {
			if (a >= objs[i].lo && a < objs[i].hi) {
				size_t k = 0;
				for (; objs[i].name[k] && k + 1 < size; k++)
					buf[k] = objs[i].name[k];
				buf[k] = '\0';
				found = true;
				break;
			}
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&gen, __ATOMIC_RELAXED) == g)
			return found;
	}
	return false;
}

bool ksmp_caller_name(const void *addr, char *buf, size_t size)
{
	if (!size)
		return false;
	buf[0] = '\0';
	if (__atomic_load_n(&dirty, __ATOMIC_ACQUIRE) || !lookup((uintptr_t)addr, buf, size)) {
		bool sure = refresh();
		if (lookup((uintptr_t)addr, buf, size))
			return true;
		buf[0] = '\0';
		return sure;
	}
	return true;
}

void ksmp_caller_invalidate(void)
{
	uint64_t e = __atomic_load_n(&ksmp_caller_epoch, __ATOMIC_RELAXED), n;
	do	/* the count stays in its bits: bit 63 is a verdict's */
		n = (e + (1ull << KSMP_CALLER_EPOCH_SHIFT)) & KSMP_CALLER_EPOCH_MASK;
	while (!__atomic_compare_exchange_n(&ksmp_caller_epoch, &e, n, false,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED));
	__atomic_store_n(&dirty, 1, __ATOMIC_RELEASE);
	/* Rebuilt now, while this process may walk, if it was ever built:
	 * a child forked before the next lookup could not rebuild it, and
	 * would name the unloaded objects' spans after them. */
	if (__atomic_load_n(&nobjs, __ATOMIC_RELAXED))
		refresh();
}

void ksmp_caller_after_fork(void)
{
	rlock = 0;
	if (gen & 1) {
		gen++;
		dirty = 1;
	}
}
