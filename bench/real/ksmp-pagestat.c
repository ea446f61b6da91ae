/*
 * ksmp-pagestat - physical page sharing and KSM layout of a set of
 * processes, read from /proc/PID/pagemap and /proc/kpageflags (root).
 *
 *   ksmp-pagestat [-r START-END] [-q QUANTILE] [-d FILE] PID...
 *
 * Every present anonymous page (pagemap bit 63 set, bit 61 clear; the
 * shared zero page left out) of every process counts once per mapping.
 * Prints one line of "key value" pairs:
 *   present  pages mapped, over all the processes
 *   distinct distinct physical pages (PFNs) among them
 *   saved    present - distinct: what sharing saves physically
 *   ksm      mapped pages that are KSM pages (kpageflags KPF_KSM)
 *   zero     mappings of the shared zero page (not counted above)
 *   limit_64k, limit_2m, limit_vma
 *            the smallest share of the present pages an ideal selector
 *            must scan to hold QUANTILE (default 0.97) of the KSM pages,
 *            choosing whole 64 KiB chunks, 2 MiB chunks (virtual, per
 *            process) or whole VMAs: units are taken densest first
 *            (KSM pages / present pages), then by KSM pages
 *   units_2m, units_vma  units with present pages
 * With -r, only pages inside [START, END) (hex addresses) count.
 * With -d FILE, also writes one line per 64 KiB chunk with present pages
 * to FILE: "INDEX ADDRESS PRESENT KSM" (INDEX: the PID's place among the
 * arguments, from 0; ADDRESS in hex), in process and address order.
 * Exit status 0, 1 when a process could not be read, 2 on a usage error.
 * It reads the processes' page tables only: nothing is faulted in.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ksmp_pagemap.h"

#define KPF_KSM (UINT64_C(1) << KPF_KSM_BIT)
#define KPF_ZERO_PAGE (UINT64_C(1) << 24)
#define BATCH 4096

struct page {
	uint64_t pfn;
	uint64_t vaddr;
	uint32_t proc, vma;
	int ksm;
};

struct unit {
	uint64_t present, ksm;
};

static struct page *pages;
static size_t npages, cappages;
static uint64_t lo, hi = UINT64_MAX;

static void add_page(uint64_t pfn, uint64_t vaddr, uint32_t proc, uint32_t vma)
{
	if (npages == cappages) {
		cappages = cappages ? cappages * 2 : 65536;
		pages = realloc(pages, cappages * sizeof(*pages));
		if (!pages) {
			perror("ksmp-pagestat");
			exit(1);
		}
	}
	pages[npages++] = (struct page){ pfn, vaddr, proc, vma, 0 };
}

/* Reads the pagemap entries of [start, end) of one mapping. */
static int read_range(int pm, uint64_t start, uint64_t end, uint32_t proc,
		      uint32_t vma)
{
	static uint64_t buf[BATCH];
	if (start < lo)
		start = lo;
	if (end > hi)
		end = hi;
	for (uint64_t a = start; a < end;) {
		size_t n = (end - a) / 4096;
		if (n > BATCH)
			n = BATCH;
		ssize_t got = pread(pm, buf, n * 8, (off_t)(a / 4096 * 8));
		if (got < 0)
			return -errno;
		if (got == 0)
			break;
		for (size_t i = 0; i < (size_t)got / 8; i++) {
			uint64_t e = buf[i];
			if ((e & PM_PRESENT) && !(e & PM_FILE) && (e & PM_PFN_MASK))
				add_page(e & PM_PFN_MASK, a + i * 4096, proc, vma);
		}
		a += (uint64_t)got / 8 * 4096;
	}
	return 0;
}

static int read_proc(const char *pid, uint32_t proc, uint32_t *vma)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%s/maps", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	snprintf(path, sizeof(path), "/proc/%s/pagemap", pid);
	int pm = open(path, O_RDONLY | O_CLOEXEC);
	if (pm < 0) {
		int e = -errno;
		fclose(f);
		return e;
	}
	int err = 0;
	while (!err && fgets(line, sizeof(line), f)) {
		uint64_t s, e;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64, &s, &e) != 2)
			continue;
		if (strstr(line, "[vsyscall]"))
			continue;
		err = read_range(pm, s, e, proc, (*vma)++);
	}
	close(pm);
	fclose(f);
	return err;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Sorted distinct PFNs and their kpageflags. */
static uint64_t *pfns, *flags;
static size_t npfns;

static int read_flags(void)
{
	pfns = malloc((npages + 1) * sizeof(*pfns));
	flags = malloc((npages + 1) * sizeof(*flags));
	if (!pfns || !flags)
		return -ENOMEM;
	for (size_t i = 0; i < npages; i++)
		pfns[i] = pages[i].pfn;
	qsort(pfns, npages, sizeof(*pfns), cmp_u64);
	for (size_t i = 0; i < npages; i++)
		if (!npfns || pfns[npfns - 1] != pfns[i])
			pfns[npfns++] = pfns[i];
	int fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	static uint64_t win[512];
	uint64_t wbase = 0, wlen = 0;
	for (size_t i = 0; i < npfns; i++) {
		if (pfns[i] < wbase || pfns[i] >= wbase + wlen) {
			wbase = pfns[i];
			ssize_t got = pread(fd, win, sizeof(win), (off_t)(wbase * 8));
			if (got < 8) {
				close(fd);
				return got < 0 ? -errno : -EIO;
			}
			wlen = (uint64_t)got / 8;
		}
		flags[i] = win[pfns[i] - wbase];
	}
	close(fd);
	return 0;
}

static uint64_t flags_of(uint64_t pfn)
{
	size_t a = 0, b = npfns;
	while (a < b) {
		size_t m = (a + b) / 2;
		if (pfns[m] < pfn)
			a = m + 1;
		else
			b = m;
	}
	return flags[a];
}

static int cmp_unit(const void *a, const void *b)
{
	const struct unit *x = a, *y = b;
	/* denser first: x.ksm/x.present > y.ksm/y.present */
	uint64_t l = x->ksm * y->present, r = y->ksm * x->present;
	if (l != r)
		return l > r ? -1 : 1;
	return x->ksm > y->ksm ? -1 : x->ksm < y->ksm;
}

/*
 * Share of the present pages in the fewest, densest units (pages with the
 * same key: process and address / gran, or process and VMA when gran is 0)
 * that hold q of the KSM pages. pages[] is in process, address order.
 */
static double limit(uint64_t gran, double q, uint64_t present, uint64_t ksm,
		    size_t *nunits)
{
	struct unit *u = calloc(npages + 1, sizeof(*u));
	size_t n = 0;
	uint64_t key = UINT64_MAX;
	uint32_t proc = UINT32_MAX;
	if (!u)
		return -1;
	for (size_t i = 0; i < npages; i++) {
		const struct page *p = &pages[i];
		if (p->ksm < 0)
			continue;
		uint64_t k = gran ? p->vaddr / gran : p->vma;
		if (k != key || p->proc != proc) {
			n++;
			key = k;
			proc = p->proc;
		}
		u[n - 1].present++;
		u[n - 1].ksm += (uint64_t)p->ksm;
	}
	*nunits = n;
	qsort(u, n, sizeof(*u), cmp_unit);
	uint64_t need = (uint64_t)(q * (double)ksm + 0.999999), got = 0, scan = 0;
	for (size_t i = 0; i < n && got < need; i++) {
		got += u[i].ksm;
		scan += u[i].present;
	}
	free(u);
	return present ? (double)scan / (double)present : 0;
}

/* -d: present and KSM pages per 64 KiB chunk. */
static int dump(const char *file)
{
	FILE *f = fopen(file, "we");
	if (!f)
		return -errno;
	for (size_t i = 0; i < npages;) {
		const struct page *p = &pages[i];
		uint64_t key = p->vaddr >> 16, present = 0, ksm = 0;
		size_t j = i;
		for (; j < npages && pages[j].proc == p->proc &&
		       pages[j].vaddr >> 16 == key; j++)
			if (pages[j].ksm >= 0) {
				present++;
				ksm += (uint64_t)pages[j].ksm;
			}
		if (present)
			fprintf(f, "%" PRIu32 " %" PRIx64 " %" PRIu64 " %" PRIu64 "\n",
				p->proc, key << 16, present, ksm);
		i = j;
	}
	return fclose(f) ? -errno : 0;
}

int main(int argc, char **argv)
{
	double q = 0.97;
	const char *dfile = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "r:q:d:")) != -1) {
		switch (opt) {
		case 'd':
			dfile = optarg;
			break;
		case 'r':
			if (sscanf(optarg, "%" SCNx64 "-%" SCNx64, &lo, &hi) != 2 || lo >= hi) {
				fprintf(stderr, "ksmp-pagestat: bad range %s\n", optarg);
				return 2;
			}
			break;
		case 'q':
			q = strtod(optarg, NULL);
			if (!(q > 0 && q <= 1)) {
				fprintf(stderr, "ksmp-pagestat: bad quantile %s\n", optarg);
				return 2;
			}
			break;
		default:
			fprintf(stderr, "usage: ksmp-pagestat [-r START-END] [-q QUANTILE] [-d FILE] PID...\n");
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: ksmp-pagestat [-r START-END] [-q QUANTILE] [-d FILE] PID...\n");
		return 2;
	}
	int rc = 0;
	uint32_t vma = 0;
	for (int i = optind; i < argc; i++) {
		int e = read_proc(argv[i], (uint32_t)(i - optind), &vma);
		if (e < 0) {
			fprintf(stderr, "ksmp-pagestat: %s: %s\n", argv[i], strerror(-e));
			rc = 1;
		}
	}
	int e = read_flags();
	if (e < 0) {
		fprintf(stderr, "ksmp-pagestat: /proc/kpageflags: %s\n", strerror(-e));
		return 1;
	}
	uint64_t present = 0, ksm = 0, zero = 0, distinct = 0, last = UINT64_MAX;
	for (size_t i = 0; i < npages; i++) {
		uint64_t f = flags_of(pages[i].pfn);
		if (f & KPF_ZERO_PAGE) {
			pages[i].ksm = -1;
			zero++;
			continue;
		}
		pages[i].ksm = (f & KPF_KSM) != 0;
		present++;
		ksm += (uint64_t)pages[i].ksm;
	}
	for (size_t i = 0; i < npfns; i++)
		if (!(flags[i] & KPF_ZERO_PAGE) && pfns[i] != last) {
			distinct++;
			last = pfns[i];
		}
	size_t u64k, u2m, uvma;
	double l64k = limit(65536, q, present, ksm, &u64k);
	double l2m = limit(2 << 20, q, present, ksm, &u2m);
	double lvma = limit(0, q, present, ksm, &uvma);
	printf("present %" PRIu64 " distinct %" PRIu64 " saved %" PRIu64 " ksm %" PRIu64
	       " zero %" PRIu64 " limit_64k %.3f limit_2m %.3f limit_vma %.3f"
	       " units_2m %zu units_vma %zu\n",
	       present, distinct, present - distinct, ksm, zero, l64k, l2m, lvma, u2m, uvma);
	if (dfile && (e = dump(dfile)) < 0) {
		fprintf(stderr, "ksmp-pagestat: %s: %s\n", dfile, strerror(-e));
		rc = 1;
	}
	free(pages);
	free(pfns);
	free(flags);
	return rc;
}
