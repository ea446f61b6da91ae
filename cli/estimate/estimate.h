/*
 * estimate.h - `ksmpreload estimate`: what perfect merging of the given
 * processes could save, before anything is merged.
 *
 * For each process: the mappings from /proc/PID/maps are classified into
 * kinds (heap, arena, stack, mmap, file, data); /proc/PID/pagemap tells which of
 * their pages are present and private (anonymous: for a private file
 * mapping, only the copies written by the process, never page-cache pages);
 * only those pages are read, in chunks, through /proc/PID/mem, so that no
 * page is faulted in or swapped in and the target is never stopped. Each
 * page becomes a 128-bit hash under a key drawn at random for the run (or
 * "zero"), so that no target can make different pages count as equal.
 *
 * Counting is done once every process has been read, in command-line
 * order, then by address: a physical page mapped more than once (same PFN,
 * e.g. shared since fork or already merged by KSM) counts once; a non-zero
 * content seen k times counts k-1 "saved" pages (KSM keeps one copy); zero
 * pages are counted apart (with use_zero_pages, all of them are freed).
 * Attribution: the first copy of a content in that order is kept, each
 * later copy is saved for the process, kind and region where it occurs. So
 * the totals are exact and the per-process figures depend on the order.
 *
 * Never writes to the targets, never ptrace-stops them. Exit 0 when every
 * target was read, 1 when one failed or vanished, 2 on a usage error.
 *
 * Files: target.c (which processes), maps.c (mappings and their kinds),
 * scan.c (reading pages), hash.c (page hashes and a set of them),
 * count.c (counting), report.c (tables and JSON), main.c (options).
 */
#ifndef KSMP_ESTIMATE_H
#define KSMP_ESTIMATE_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"

/* glibc's non-main arena heaps: HEAP_MAX_SIZE on 64-bit targets. */
#define ARENA_SIZE	(UINT64_C(64) << 20)
#define GUARD_MAX	(UINT64_C(1) << 20)

/* The region kinds (policy.h's, named by ksmp_kind_name()) that reading
 * /proc can tell apart, in report order. malloc's mmapped chunks look like
 * any other anonymous mapping from outside: they count as mmap. */
#define EST_NKINDS 6
extern const enum ksmp_kind est_kinds[EST_NKINDS];

struct counts {
	uint64_t pages;		/* private pages, each physical page once */
	uint64_t zero;		/* of which all-zero */
	uint64_t saved;		/* non-zero copies of a content seen before */
	uint64_t shared;	/* already shared: PFN seen before, zero page */
	uint64_t swapped;	/* swapped out: not read, not counted */
	uint64_t unread;	/* present but unreadable (changed under us) */
};

struct region {
	uint64_t start, end;
	enum ksmp_kind kind;
	char perms[5];
	char *path;
	struct counts c;
};

#define REC_ZERO 1u
struct rec {
	uint64_t h[2];
	uint64_t pfn;		/* 0 when exclusive or unknown */
	uint32_t region;
	uint32_t flags;
};

enum pstate { P_OK, P_FAILED, P_VANISHED };

struct proc {
	int pid;
	char name[64];
	enum pstate state;
	int err;
	int asked;		/* named by its pid (see struct pidlist) */
	struct region *reg;
	size_t nreg;
	struct rec *rec;
	size_t nrec, caprec;
	struct counts kind[KSMP_KIND_COUNT];
	struct counts total;
};

struct opts {
	int json, regions, progress;
	int by_kind, by_proc;
	uint64_t chunk;		/* bytes per pread */
	uint64_t max_rate;	/* bytes per second, 0 = unlimited */
};

extern size_t pagesz;

/* A set of 128-bit keys, (0,0) marking an empty slot. */
struct set {
	uint64_t *k;		/* 2 words per slot */
	size_t cap, n;
};

struct pidlist {
	int *v;
	unsigned char *asked;	/* 1: named by its pid; 0: found by name or cgroup */
	size_t n, cap;
};

struct vma {
	uint64_t start, end;
	char perms[5];
	uint64_t inode;
	uint64_t offset;	/* file offset of start */
	const char *path;	/* into the maps buffer; "" when anonymous */
};

struct scan {
	const struct opts *o;
	uint64_t *pm;		/* pagemap entries of one chunk */
	uint64_t *buf;		/* page contents of one chunk */
	size_t chunk_pages;
	uint64_t zero_pfn;
	int no_pmscan;		/* PAGEMAP_SCAN unsupported */
	/* progress and rate limiting */
	uint64_t done_bytes, total_bytes;
	double t0, last_progress;
	size_t nproc, iproc;
	int cur_pid;
};

/* hash.c */
int est_hash_init(void);
void est_hash_free(void);
void est_hash_page(const uint64_t *w, uint64_t out[2]);
int est_page_is_zero(const uint64_t *w);
int est_set_add(struct set *s, uint64_t a, uint64_t b);

/* target.c */
int est_pidlist_add(struct pidlist *l, int pid, int asked);
int est_tgid_of(int pid);
int est_resolve_name(const char *name, struct pidlist *l);
void est_proc_name(int pid, char *name, size_t len);
uint64_t est_resident_bytes(int pid);

/* maps.c */
int est_parse_maps(char *buf, struct vma **out, size_t *nout);
int est_classify(struct proc *p, const struct vma *v, size_t n, int memfd);

/* scan.c */
void est_scan_proc(struct scan *s, struct proc *p);
void est_progress(struct scan *s, int final);
uint64_t est_find_zero_pfn(void);
const char *est_err_text(int err);
int est_gone(const struct proc *p);

/* count.c */
int est_count_all(struct proc *ps, size_t np, struct counts *kind_tot,
		  struct counts *tot, uint64_t *distinct);

/* report.c */
void est_print_json(const struct opts *o, struct proc *ps, size_t np,
		    const struct counts *kt, const struct counts *tot,
		    uint64_t distinct, int pfn_visible, double secs);
void est_print_table(const struct opts *o, struct proc *ps, size_t np,
		     const struct counts *kt, const struct counts *tot,
		     double secs);

#endif
