/*
 * libksmpearly.so - a shared object whose constructor maps and fills
 * anonymous memory, for tests/preload/preload_early.sh. ksmp-early links
 * it (and the same source built as libgcrypt.so.ksmpearly, a crypto
 * library's name, with EARLY_BASE 10): the loader runs its constructor
 * before the preloaded library's, as redis-server's libgpg-error's malloc
 * maps jemalloc's first extents before the library has a policy.
 *
 * Regions (I = EARLY_BASE + n), each 1 MiB, filled (ksmt_fill) with the
 * pattern of KSMP_EARLY_SEED * 64 + I (equal seeds give equal pages, every
 * page distinct within one process):
 *   +0 plain     one mmap
 *   +1 trimmed   the middle of a 3 MiB mmap, whose first and last MiB are
 *                munmapped (as jemalloc trims an aligned extent)
 *   +2 remapped  a 512 KiB mmap grown by mremap (it may move)
 *   +3 unseen    a 1 MiB mmap is unmapped, and a mapping the library
 *                cannot see (a raw system call) takes its place
 *   +4 unaligned the rest of a 1 MiB + 4 KiB mmap whose first page goes
 *                by a munmap of 100 bytes (the kernel unmaps whole pages)
 *   +5 dontunmap-new  a 1 MiB mmap moved by mremap with MREMAP_DONTUNMAP
 *   +6 dontunmap-old  ... its old range, which stays mapped, filled again
 *                (when the kernel refuses the flag: "early-nodontunmap I",
 *                and +5 and +6 are plain mmaps)
 *   +7 movedpart the second MiB of a 2 MiB mmap, moved alone by mremap
 *                (MREMAP_FIXED) onto a range reserved by a raw system call
 * Writes (write(2), before main) "premise I mg|nomg": VmFlags of the plain
 * region right after its mmap, and "region I NAME MIDDLE LEN" and "span I
 * START LEN" (hex addresses, no 0x) per region; "early-error WHAT" on a
 * failure.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ksmtest.h"

#ifndef EARLY_BASE
#define EARLY_BASE 0
#endif
#ifndef EARLY_FN
#define EARLY_FN ksmp_early_plain
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#define MIB (1ul << 20)

static void say(const char *line)
{
	size_t n = strlen(line);
	if (write(1, line, n) != (ssize_t)n)
		_exit(3);
}

static void fail(const char *what)
{
	char line[80];
	snprintf(line, sizeof(line), "early-error %u %s\n", EARLY_BASE, what);
	say(line);
	_exit(3);
}

static void *anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		fail("mmap");
	return p;
}

/* Does the mapping holding a have mg in VmFlags? */
static const char *flags_of(uintptr_t a)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int in = 0;
	const char *res = "none";
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
			in = a >= lo && a < hi;
		else if (in && !strncmp(line, "VmFlags:", 8)) {
			res = strstr(line, " mg") ? "mg" : "nomg";
			break;
		}
	}
	if (f)
		fclose(f);
	return res;
}

static void done(unsigned i, const char *name, unsigned char *p, size_t len, unsigned seed)
{
	char line[160];
	/* "early" in the high bits: no other test's pattern */
	ksmt_fill(p, len, 0x6561726c79ull << 24 | (seed * 64ull + i));
	snprintf(line, sizeof(line), "region %u %s %lx %zu\nspan %u %lx %zu\n", i, name,
		 (unsigned long)p + len / 2, len, i, (unsigned long)p, len);
	say(line);
}

__attribute__((constructor))
static void early_init(void)
{
	const char *s = getenv("KSMP_EARLY_SEED");
	unsigned seed = s ? (unsigned)strtoul(s, NULL, 0) : 1;
	unsigned i = EARLY_BASE;

	char line[80];
	unsigned char *plain = anon(MIB);
	snprintf(line, sizeof(line), "premise %u %s\n", i, flags_of((uintptr_t)plain));
	say(line);
	done(i, "plain", plain, MIB, seed);

	unsigned char *t = anon(3 * MIB);
	if (munmap(t, MIB) != 0 || munmap(t + 2 * MIB, MIB) != 0)
		fail("munmap");
	done(i + 1, "trimmed", t + MIB, MIB, seed);

	unsigned char *r = anon(MIB / 2);
	r = mremap(r, MIB / 2, MIB, MREMAP_MAYMOVE);
	if (r == MAP_FAILED)
		fail("mremap");
	done(i + 2, "remapped", r, MIB, seed);

	unsigned char *u = anon(MIB);
	if (munmap(u, MIB) != 0)
		fail("munmap");
	long v = syscall(SYS_mmap, u, MIB, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (v != (long)(uintptr_t)u)
		fail("unseen");
	done(i + 3, "unseen", u, MIB, seed);

	unsigned char *g = anon(MIB + 4096);
	if (munmap(g, 100) != 0)
		fail("munmap 100");
	done(i + 4, "unaligned", g + 4096, MIB, seed);

	unsigned char *d = anon(MIB);
	unsigned char *dn = mremap(d, MIB, MIB, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
	if (dn == MAP_FAILED) {
		snprintf(line, sizeof(line), "early-nodontunmap %u\n", i);
		say(line);
		dn = anon(MIB);
	}
	done(i + 5, "dontunmap-new", dn, MIB, seed);
	done(i + 6, "dontunmap-old", d, MIB, seed);

	unsigned char *w = anon(2 * MIB);
	long to = syscall(SYS_mmap, NULL, MIB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (to == -1)
		fail("reserve");
	unsigned char *mp = mremap(w + MIB, MIB, MIB, MREMAP_MAYMOVE | MREMAP_FIXED,
				   (void *)to);
	if (mp == MAP_FAILED)
		fail("mremap part");
	done(i + 7, "movedpart", mp, MIB, seed);
}

/* Something for ksmp-early to call: each build has its own name. */
int EARLY_FN(void);
int EARLY_FN(void)
{
	return EARLY_BASE;
}
