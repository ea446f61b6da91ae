/*
 * auto_survey_unit.c - mode auto's measuring side (mergefs/auto_survey.c)
 * on this process's own memory, without KSM or mergefs: a state block
 * made by hand, records over mappings of this process, and its own
 * /proc/self/pagemap.
 *  - a mostly empty record (its present runs found with PAGEMAP_SCAN)
 *    counts what a mostly full one (read whole) counts, chunk by chunk;
 *  - a big record that was full at the last look costs a read of its
 *    entries, not a pass over its chunks for each chunk;
 *  - records the target wrote with an unaligned start or end (the block
 *    is the target's memory) neither fail the survey nor turn the scan
 *    off for the records that come after;
 *  - read whole (full at the last look), such records count the pages
 *    their partial first and last pages are in.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../mergefs/auto.h"
#include "../tap.h"

#define MIB (1ull << 20)
#define PG 4096ull

static struct ksmp_state *st;
static int fd;

static void records(int n, const uint64_t *start, const uint64_t *len)
{
	memset(st->regions, 0, sizeof(st->regions[0]) * (size_t)(n + 1));
	for (int i = 0; i < n; i++) {
		st->regions[i].state = KSMP_REGION_MERGEABLE;
		st->regions[i].start = start[i];
		st->regions[i].len = len[i];
	}
	st->nregions_hint = (uint32_t)n;
}

static void one_record(uint64_t start, uint64_t len)
{
	records(1, &start, &len);
}

static void proc_reset(struct proc *p)
{
	free(p->c);
	memset(p, 0, sizeof(*p));
}

/* p's chunks as known at a last look that found each with `last` pages */
static void seed(struct proc *p, uint64_t start, uint64_t len, uint64_t chunk,
		 uint32_t last)
{
	proc_reset(p);
	size_t n = (size_t)((start + len - 1) / chunk - start / chunk + 1);
	p->c = calloc(n, sizeof(*p->c));
	if (!p->c)
		abort();
	p->n = p->cap = n;
	for (size_t i = 0; i < n; i++) {
		p->c[i].addr = (start & ~(chunk - 1)) + i * chunk;
		p->c[i].last = last;
	}
}

static double cpu_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int have_scan(void)
{
	struct ksmp_page_region r[4];
	struct ksmp_pm_scan_arg arg = {
		.size = sizeof(arg), .start = 0, .end = PG,
		.vec = (uint64_t)(uintptr_t)r, .vec_len = 4,
		.category_mask = KSMP_PAGE_IS_PRESENT,
		.return_mask = KSMP_PAGE_IS_PRESENT,
	};
	return ioctl(fd, KSMP_PAGEMAP_SCAN, &arg) >= 0;
}

/* Present pages where a mostly empty record is scanned and a full one read. */
static void same_counts(void)
{
	const uint64_t chunk = 2 * MIB, size = 256 * MIB;
	unsigned char *m = mmap(NULL, size + chunk, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		abort();
	uint64_t base = ((uint64_t)(uintptr_t)m + chunk - 1) & ~(chunk - 1);
	unsigned char *b = (unsigned char *)(uintptr_t)base;
	uint32_t want[128] = { 0 };
	/* runs across chunk edges, across the scan's 64 MiB window, lone
	 * pages, a run at the very end */
	static const uint64_t runs[][2] = {
		{ 0, 3 }, { 511, 2 }, { 1000, 1 }, { 16383, 4 }, { 20000, 600 },
		{ 40000, 1 }, { 40002, 1 }, { 65535, 1 },
	};
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
		for (uint64_t pg = runs[i][0]; pg < runs[i][0] + runs[i][1]; pg++) {
			b[pg * PG] = 1;
			want[pg * PG / chunk]++;
		}
	one_record(base, size);
	static struct proc scan, read;
	int ns = auto_survey(&scan, st, chunk, 1, fd);	/* no chunks known: empty */
	seed(&read, base, size, chunk, (uint32_t)(chunk / PG));
	int nr = auto_survey(&read, st, chunk, 1, fd);
	is_int(ns, 128, "mostly empty record: every chunk measured");
	is_int(nr, 128, "full record: every chunk measured");
	int bad = 0;
	for (size_t i = 0; i < 128 && ns == 128 && nr == 128; i++)
		if (scan.c[i].present != want[i] || read.c[i].present != want[i] ||
		    scan.c[i].live != read.c[i].live) {
			if (!bad++)
				diag("chunk %zu: want %u, scanned %u (live %#x), read %u (live %#x)",
				     i, want[i], scan.c[i].present, scan.c[i].live,
				     read.c[i].present, read.c[i].live);
		}
	ok(ns == 128 && nr == 128 && !bad, "the same present pages and sub-units, chunk by chunk");
	proc_reset(&scan);
	proc_reset(&read);
	munmap(m, size + chunk);
}

/* A record of 65536 chunks of 64 KiB, full at the last look, in a child
 * under alarm: its survey must take a read of its 1 Mi entries. */
static void big_full(void)
{
	const uint64_t chunk = 64 << 10, size = 4096 * MIB;
	void *m = mmap(NULL, size, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED) {
		tap_skip(1, "cannot reserve 4 GiB");
		return;
	}
	uint64_t base = ((uint64_t)(uintptr_t)m + chunk - 1) & ~(chunk - 1);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		alarm(20);
		static struct proc p;
		one_record(base, size - chunk);
		seed(&p, base, size - chunk, chunk, (uint32_t)(chunk / PG));
		double t0 = cpu_s();
		int n = auto_survey(&p, st, chunk, 1, fd);
		diag("65535 chunks full at the last look: %d measured in %.3f s CPU",
		     n, cpu_s() - t0);
		_exit(n == 65535 ? 0 : 1);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "a record of 65535 full chunks is surveyed within 20 s (status %#x)", status);
	munmap(m, size);
}

static unsigned char *map_rw(uint64_t size)
{
	unsigned char *m = mmap(NULL, size, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		abort();
	return m;
}

/* Records with an unaligned start or end, then a sparse 256 GiB one:
 * the survey goes on, counts, and still scans the big one (CPU: reading
 * its 64 Mi entries costs about 0.2 s, scanning it 0.02-0.04 s). */
static void unaligned(void)
{
	const uint64_t chunk = 2 * MIB, size = 8 * MIB;
	unsigned char *m = map_rw(size + chunk);
	uint64_t base = ((uint64_t)(uintptr_t)m + chunk - 1) & ~(chunk - 1);
	unsigned char *b = (unsigned char *)(uintptr_t)base;
	b[0] = b[PG] = b[5 * MIB] = 1;
	static struct proc p;
	uint64_t s[2] = { base, base + 4 * MIB + 100 };
	uint64_t l[2] = { 2 * MIB + 1, 2 * MIB };
	records(1, s + 1, l + 1);
	int n = auto_survey(&p, st, chunk, 1, fd);
	proc_reset(&p);
	records(2, s, l);
	n = auto_survey(&p, st, chunk, 1, fd);
	is_int(n, 4, "records with an unaligned end and start: surveyed (4 chunks)");
	ok(n == 4 && p.n == 4 && p.c[0].present == 2 && p.c[2].present == 1,
	   "... and counted (%u, %u present)", p.n > 0 ? p.c[0].present : 0,
	   p.n > 2 ? p.c[2].present : 0);
	proc_reset(&p);

	const uint64_t big = 256ull << 30;
	void *r = mmap(NULL, big, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r == MAP_FAILED || !have_scan()) {
		tap_skip(1, r == MAP_FAILED ? "cannot reserve 256 GiB" : "no PAGEMAP_SCAN");
	} else {
		uint64_t rb = ((uint64_t)(uintptr_t)r + chunk - 1) & ~(chunk - 1);
		one_record(rb, big - chunk);
		double t0 = cpu_s();
		n = auto_survey(&p, st, chunk, 1, fd);
		double t = cpu_s() - t0;
		/* the same record full at the last look: read whole */
		seed(&p, rb, big - chunk, chunk, (uint32_t)(chunk / PG));
		t0 = cpu_s();
		int nw = auto_survey(&p, st, chunk, 1, fd);
		double tw = cpu_s() - t0;
		diag("sparse 256 GiB record after them: %d chunks in %.3f s CPU, "
		     "read whole %d in %.3f s", n, t, nw, tw);
		ok(n == 131071 && nw == n && t < tw / 3,
		   "a sparse record after them is still scanned (a third of the CPU of a read)");
		proc_reset(&p);
	}
	if (r != MAP_FAILED)
		munmap(r, big);
	munmap(m, size + chunk);
}

/* Records with an unaligned end and start, full at the last look (read
 * whole, not scanned): the last part of the first (1 byte into a chunk)
 * and both ends of the second are counted. measure() took whole pages
 * from the length alone: it read no page for the last partial one (a
 * read of 0 entries, -EIO: that chunk was not measured) and missed the
 * last page of a record with an unaligned start. */
static void unaligned_read(void)
{
	const uint64_t chunk = 2 * MIB, size = 8 * MIB;
	unsigned char *m = map_rw(size + chunk);
	uint64_t base = ((uint64_t)(uintptr_t)m + chunk - 1) & ~(chunk - 1);
	unsigned char *b = (unsigned char *)(uintptr_t)base;
	b[0] = b[2 * MIB] = b[4 * MIB] = b[6 * MIB - PG] = 1;
	static struct proc p;
	uint64_t s[2] = { base, base + 4 * MIB + 100 };
	uint64_t l[2] = { 2 * MIB + 1, 2 * MIB - 100 };
	records(2, s, l);
	seed(&p, base, 6 * MIB, chunk, (uint32_t)(chunk / PG));
	int n = auto_survey(&p, st, chunk, 1, fd);
	is_int(n, 3, "read whole, records with an unaligned end and start: every chunk measured");
	ok(n == 3 && p.n == 3 && p.c[0].present == 1 && p.c[1].present == 1 &&
	   p.c[2].present == 2 && p.c[1].live == 1 && p.c[2].live == (1u | 1u << 31),
	   "... their partial pages counted (%u %u %u present, live %#x %#x)",
	   p.n > 0 ? p.c[0].present : 0, p.n > 1 ? p.c[1].present : 0,
	   p.n > 2 ? p.c[2].present : 0, p.n > 1 ? p.c[1].live : 0,
	   p.n > 2 ? p.c[2].live : 0);
	proc_reset(&p);
	munmap(m, size + chunk);
}

int main(void)
{
	tap_plan(9);
	st = calloc(1, sizeof(*st));
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (!st || fd < 0)
		return 1;
	same_counts();
	big_full();
	unaligned();
	unaligned_read();
	return tap_done();
}
