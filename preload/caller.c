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

#include "lib.h"

#define MAX_OBJS 1024

struct obj {
	uintptr_t lo, hi;
	char name[KSMP_STATE_CALLER_MAX];
};

static struct obj objs[MAX_OBJS];
static unsigned nobjs;
static unsigned gen;		/* odd while rebuilding */
static int rlock;
static int dirty = 1;
static unsigned long long seen_adds = ~0ull, seen_subs = ~0ull;
unsigned ksmp_caller_epoch;

void ksmp_object_name(const char *dlpi_name, char *buf, size_t size)
{
	const char *name = dlpi_name && dlpi_name[0] ? dlpi_name : ksmp_st->exe;
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

void ksmp_loader_counters(unsigned long long c[2])
{
	c[0] = c[1] = 0;
	dl_iterate_phdr(counters_cb, c);
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

static void refresh(void)
{
	if (__atomic_exchange_n(&rlock, 1, __ATOMIC_ACQUIRE))
		return;		/* another thread is at it */
	unsigned long long c[2];
	ksmp_loader_counters(c);
	if (__atomic_load_n(&dirty, __ATOMIC_ACQUIRE) || c[0] != seen_adds ||
	    c[1] != seen_subs) {
		__atomic_store_n(&dirty, 0, __ATOMIC_RELEASE);
		__atomic_fetch_add(&gen, 1, __ATOMIC_ACQ_REL);
		nobjs = 0;
		dl_iterate_phdr(build_cb, NULL);
		seen_adds = c[0];
		seen_subs = c[1];
		__atomic_fetch_add(&gen, 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&rlock, 0, __ATOMIC_RELEASE);
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

void ksmp_caller_name(const void *addr, char *buf, size_t size)
{
	if (!size)
		return;
	buf[0] = '\0';
	if (__atomic_load_n(&dirty, __ATOMIC_ACQUIRE) || !lookup((uintptr_t)addr, buf, size)) {
		refresh();
		if (!lookup((uintptr_t)addr, buf, size))
			buf[0] = '\0';
	}
}

void ksmp_caller_invalidate(void)
{
	__atomic_fetch_add(&ksmp_caller_epoch, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&dirty, 1, __ATOMIC_RELEASE);
}

void ksmp_caller_after_fork(void)
{
	rlock = 0;
	if (gen & 1) {
		gen++;
		dirty = 1;
	}
}
