/*
 * auto-prog - a test program for mode auto: one anonymous mapping made of
 * 2 MiB chunks, each filled either with content every instance shares
 * (S: derived from the chunk index only) or with content of its own
 * (U: derived from the pid too), or mixed (M: its first 30 pages S, the
 * rest U; H: its first half S, the rest U; A: its 64 KiB pieces S and U
 * in turn, S first; E: its first 16 pages U, the rest not present),
 * driven by commands on
 * standard input:
 *
 *   auto-prog MIB PATTERN [apart]  e.g. auto-prog 16 SSSSUUUU
 *                              apart: each chunk a mapping of its own,
 *                              2 MiB-aligned, a 2 MiB hole after each
 *   fill PATTERN               refill every chunk by the new pattern
 *   storm N                    N malloc/free and mmap/munmap calls of
 *                              mixed sizes, checking results and errno
 *   check                      verify every chunk and errno handling
 *   remap OFF LEN              unmap LEN bytes at OFF (hex, from the
 *                              start) and map them afresh (not MAP_FIXED:
 *                              the library records them anew), refilled
 *   bogus START LEN            write a record of START, LEN (hex) into
 *                              the library's state block, as a hostile
 *                              program may: the block is its memory
 *   crowd                      map 64 KiB mappings apart (each one record
 *                              of the library's) until its region table
 *                              is full (regions_dropped grows): a prune
 *                              or probe that splits a record then fails
 *                              with ENOSPC
 *   quit
 *
 * Prints "ready ADDR LEN" (LEN: to the end of the last chunk) at start and one line per command: "ok ..." or
 * "bad ...". Reads with read(2), which the control signal must not break.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ksmp_state.h"
#include "policy.h"

#define CHUNK (2ul << 20)

static unsigned char *mem;
static size_t nchunks, stride = CHUNK;
static char pattern[256];

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

static uint64_t word(size_t chunk, size_t i)
{
	int u = pattern[chunk] == 'U' || pattern[chunk] == 'E' ||
		(pattern[chunk] == 'M' && i >= 30 * 512) ||
		(pattern[chunk] == 'H' && i >= CHUNK / 16) ||
		(pattern[chunk] == 'A' && (i / 8192) % 2);
	uint64_t own = u ? (uint64_t)getpid() << 40 : 0;
	return mix(0x6175746f70726f67ull ^ own ^ (chunk << 32) ^ i) | 1;
}

/* Words of chunk c that hold content (the rest: not present). */
static size_t words(size_t c)
{
	return pattern[c] == 'E' ? 16 * 4096 / 8 : CHUNK / 8;
}

static void fill(void)
{
	for (size_t c = 0; c < nchunks; c++) {
		uint64_t *w = (uint64_t *)(mem + c * stride);
		for (size_t i = 0; i < words(c); i++)
			w[i] = word(c, i);
		if (words(c) < CHUNK / 8)
			madvise(w + words(c), CHUNK - words(c) * 8, MADV_DONTNEED);
	}
}

static int verify(void)
{
	for (size_t c = 0; c < nchunks; c++) {
		const uint64_t *w = (const uint64_t *)(mem + c * stride);
		for (size_t i = 0; i < words(c); i++)
			if (w[i] != word(c, i))
				return -1;
	}
	return 0;
}

/* Calls the library interposes, with results and errno checked. */
static int storm(long n)
{
	void *keep[64] = { 0 };
	for (long k = 0; k < n; k++) {
		size_t sz = (size_t)(16 + (mix((uint64_t)k) % (512 << 10)));
		void *p = malloc(sz);
		if (!p)
			return -1;
		memset(p, (int)(k & 0xff) | 1, sz);
		free(keep[k % 64]);
		keep[k % 64] = p;
		void *m = mmap(NULL, 256 << 10, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			return -1;
		memset(m, 0x5a, 4096);
		errno = 0;
		if (munmap(m, 256 << 10) != 0 || errno != 0)
			return -1;
		errno = 0;
		if (mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) !=
		    MAP_FAILED || errno != EINVAL)
			return -1;
	}
	for (int i = 0; i < 64; i++)
		free(keep[i]);
	return 0;
}

static int errno_ok(void)
{
	errno = 0;
	void *p = malloc(64);
	int e1 = errno;
	free(p);
	errno = 0;
	int r = (int)read(-1, &p, 1);
	return e1 == 0 && r == -1 && errno == EBADF ? 0 : -1;
}

/* Unmap [off, off+len) of the chunks and map it again, as a program that
 * frees and reallocates does; its contents as before. */
static int remap(const char *arg)
{
	unsigned long long off, len;
	if (stride != CHUNK || sscanf(arg, "%llx %llx", &off, &len) != 2 ||
	    off % 4096 || !len || len % 4096 || off + len > nchunks * CHUNK)
		return -1;
	unsigned char *at = mem + off;
	if (munmap(at, len) != 0 ||
	    mmap(at, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != at)
		return -1;
	for (size_t o = off; o < off + len; o += 8)
		*(uint64_t *)(mem + o) = word(o / CHUNK, o % CHUNK / 8);
	return 0;
}

/* The library's state block, found in our maps. */
static struct ksmp_state *state_block(void)
{
	unsigned long long s, e;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "re");
	struct ksmp_state *st = NULL;
	while (f && !st && fgets(line, sizeof(line), f))
		if (strstr(line, "/memfd:" KSMP_STATE_MEMFD_NAME) &&
		    sscanf(line, "%llx-%llx", &s, &e) == 2)
			st = (struct ksmp_state *)(uintptr_t)s;
	if (f)
		fclose(f);
	return st;
}

/* Fill the library's region table: 64 KiB mappings (advised: merge mmap
 * min=64K) with a 64 KiB hole above each, until one is not recorded. */
static int crowd(void)
{
	struct ksmp_state *st = state_block();
	if (!st)
		return -1;
	uint64_t dropped = __atomic_load_n(&st->regions_dropped, __ATOMIC_ACQUIRE);
	for (int k = 0; k < 2 * KSMP_STATE_REGIONS; k++) {
		unsigned char *m = mmap(NULL, 128 << 10, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED || munmap(m + (64 << 10), 64 << 10) != 0)
			return -1;
		if (__atomic_load_n(&st->regions_dropped, __ATOMIC_ACQUIRE) != dropped)
			return 0;
	}
	return -1;
}

/* A record of our own making in the library's state block, after the
 * records in use (the library keeps to its own count of them). */
static int bogus(const char *arg)
{
	unsigned long long start, len;
	if (sscanf(arg, "%llx %llx", &start, &len) != 2)
		return -1;
	struct ksmp_state *st = state_block();
	uint32_t i = st ? st->nregions_hint : KSMP_STATE_REGIONS;
	if (i >= KSMP_STATE_REGIONS)
		return -1;
	struct ksmp_region *r = &st->regions[i];
	__atomic_store_n(&r->seq, r->seq | 1, __ATOMIC_RELEASE);
	r->start = start;
	r->len = len;
	r->kind = KSMP_KIND_MMAP;
	r->state = KSMP_REGION_MERGEABLE;
	__atomic_store_n(&r->seq, r->seq + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&st->nregions_hint, i + 1, __ATOMIC_RELEASE);
	return 0;
}

static int set_pattern(const char *s)
{
	size_t n = strcspn(s, " \n");
	if (n != nchunks || strspn(s, "SUMHAE") < n)
		return -1;
	memcpy(pattern, s, n);
	pattern[n] = '\0';
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3 && !(argc == 4 && !strcmp(argv[3], "apart"))) {
		fprintf(stderr, "usage: auto-prog MIB PATTERN [apart]\n");
		return 2;
	}
	if (argc == 4)
		stride = 2 * CHUNK;
	size_t mib = strtoul(argv[1], NULL, 10);
	nchunks = mib / 2;
	if (!nchunks || nchunks >= sizeof(pattern) || set_pattern(argv[2]) < 0) {
		fprintf(stderr, "auto-prog: PATTERN needs MIB/2 letters S, U, M, H or A\n");
		return 2;
	}
	/* 2 MiB-aligned, so that chunks are the controller's chunks */
	unsigned char *raw = mmap(NULL, nchunks * stride + CHUNK,
				  PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return 1;
	mem = (unsigned char *)(((uintptr_t)raw + CHUNK - 1) & ~(CHUNK - 1));
	if (stride != CHUNK) {	/* one mapping (one record) per chunk */
		munmap(raw, nchunks * stride + CHUNK);
		for (size_t c = 0; c < nchunks; c++)
			if (mmap(mem + c * stride, CHUNK, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
				 -1, 0) != mem + c * stride)
				return 1;
	}
	fill();
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready %p %zu\n", (void *)mem, (nchunks - 1) * stride + CHUNK);
	char line[300];
	size_t have = 0;
	for (;;) {
		ssize_t r = read(0, line + have, sizeof(line) - 1 - have);
		if (r < 0 && errno == EINTR) {
			printf("bad read returned EINTR\n");
			continue;
		}
		if (r <= 0)
			return 0;
		have += (size_t)r;
		line[have] = '\0';
		char *nl;
		while ((nl = strchr(line, '\n'))) {
			*nl = '\0';
			int bad = 0;
			if (!strncmp(line, "fill ", 5))
				bad = set_pattern(line + 5) < 0 || (fill(), 0);
			else if (!strncmp(line, "storm ", 6))
				bad = storm(strtol(line + 6, NULL, 10)) < 0;
			else if (!strncmp(line, "remap ", 6))
				bad = remap(line + 6) < 0;
			else if (!strncmp(line, "bogus ", 6))
				bad = bogus(line + 6) < 0;
			else if (!strcmp(line, "crowd"))
				bad = crowd() < 0;
			else if (!strcmp(line, "check"))
				bad = verify() < 0 || errno_ok() < 0;
			else if (!strcmp(line, "quit"))
				return 0;
			else
				bad = 1;
			printf("%s %s\n", bad ? "bad" : "ok", line);
			have -= (size_t)(nl + 1 - line);
			memmove(line, nl + 1, have + 1);
		}
	}
}
