/*
 * mmap.c - interposers for the program's own mappings: mmap and mmap64
 * (libpython and other _FILE_OFFSET_BITS=64 code call mmap64), munmap,
 * mremap, brk and sbrk. glibc's malloc never comes through here (it uses
 * internal calls): malloc.c covers its memory.
 *
 * Each returns what the real call returned with its errno; our work runs
 * only after a success, with errno saved (engine.c), and only in the
 * regions engine; before the engine started (other libraries'
 * constructors run before ours), early.c notes mmaps for it.
 */
#include <errno.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib.h"

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#define RET __builtin_return_address(0)

static inline bool regions(void)
{
	return __atomic_load_n(&ksmp_cfg.engine, __ATOMIC_RELAXED) == KSMP_ENGINE_REGIONS;
}

static inline void *after_mmap(void *p, size_t len, int prot, int flags, int fd,
			       const void *ret)
{
	if (p == MAP_FAILED || ksmp_busy)
		return p;
	if (regions()) {
		if (ksmp_cfg.want_mmap || ksmp_cfg.want_file || (flags & MAP_FIXED))
			ksmp_engine_mmap(p, len, prot, flags, fd, ret);
	} else if (ksmp_early_open()) {	/* before the engine started */
		int saved = errno;
		ksmp_early_mmap(p, len, prot, flags, fd, ret);
		errno = saved;
	}
	return p;
}

KSMP_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	ksmp_need_real();
	return after_mmap(ksmp_real.mmap(addr, len, prot, flags, fd, off), len,
			  prot, flags, fd, RET);
}

KSMP_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	ksmp_need_real();
	void *p = ksmp_real.mmap64 ?
		  ksmp_real.mmap64(addr, len, prot, flags, fd, off) :
		  ksmp_real.mmap(addr, len, prot, flags, fd, (off_t)off);
	return after_mmap(p, len, prot, flags, fd, RET);
}

KSMP_EXPORT int munmap(void *addr, size_t len)
{
	ksmp_need_real();
	int r = ksmp_real.munmap(addr, len);
	if (r == 0 && regions() && !ksmp_busy &&
	    ksmp_regions_maybe((uintptr_t)addr, len)) {
		int saved = errno;
		ksmp_busy++;
		ksmp_regions_forget((uintptr_t)addr, len);
		ksmp_busy--;
		errno = saved;
	} else if (r == 0 && !ksmp_busy && !regions() && ksmp_early_open()) {
		ksmp_early_moved((uintptr_t)addr, len, 0, 0, false);
	}
	return r;
}

KSMP_EXPORT void *mremap(void *old, size_t oldlen, size_t newlen, int flags, ...)
{
	void *want = NULL;
	if (flags & MREMAP_FIXED) {
		va_list ap;
		va_start(ap, flags);
		want = va_arg(ap, void *);
		va_end(ap);
	}
	ksmp_need_real();
	void *p = ksmp_real.mremap(old, oldlen, newlen, flags, want);
	if (p != MAP_FAILED && regions() && !ksmp_busy) {
		int saved = errno;
		ksmp_busy++;
		if (flags & MREMAP_FIXED)
			ksmp_regions_forget((uintptr_t)p, newlen);	/* replaced */
		ksmp_regions_moved((uintptr_t)old, oldlen, (uintptr_t)p, newlen,
				   (flags & MREMAP_DONTUNMAP) != 0);
		ksmp_busy--;
		errno = saved;
	} else if (p != MAP_FAILED && !ksmp_busy && !regions() && ksmp_early_open()) {
		ksmp_early_moved((uintptr_t)old, oldlen, (uintptr_t)p, newlen,
				 (flags & MREMAP_DONTUNMAP) != 0);
	}
	return p;
}

static void brk_moved(void)
{
	if (regions() && ksmp_cfg.want_heap && !ksmp_busy)
		ksmp_engine_heap_changed((uintptr_t)__atomic_load_n(&__curbrk,
								    __ATOMIC_RELAXED));
}

KSMP_EXPORT int brk(void *addr)
{
	ksmp_need_real();
	if (!ksmp_real.brk) {
		errno = ENOSYS;
		return -1;
	}
	int r = ksmp_real.brk(addr);
	if (r == 0)
		brk_moved();
	return r;
}

KSMP_EXPORT void *sbrk(intptr_t incr)
{
	ksmp_need_real();
	if (!ksmp_real.sbrk) {
		errno = ENOSYS;
		return (void *)-1;
	}
	void *r = ksmp_real.sbrk(incr);
	if (r != (void *)-1 && incr)
		brk_moved();
	return r;
}
