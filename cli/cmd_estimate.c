/*
 * cmd_estimate.c - `ksmpreload estimate`: what perfect merging of the given
 * processes could save, before anything is merged.
 *
 * For each process: the mappings from /proc/PID/maps are classified into
 * kinds (heap, arena, stack, mmap, file); /proc/PID/pagemap tells which of
 * their pages are present and private (anonymous: for a private file
 * mapping, only the copies written by the process, never page-cache pages);
 * only those pages are read, in chunks, through /proc/PID/mem, so that no
 * page is faulted in or swapped in and the target is never stopped. Each
 * page becomes a 128-bit hash (or "zero").
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
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"

/* /proc/PID/pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst) */
#define PM_PFN_MASK	((UINT64_C(1) << 55) - 1)
#define PM_EXCLUSIVE	(UINT64_C(1) << 56)
#define PM_FILE		(UINT64_C(1) << 61)
#define PM_SWAP		(UINT64_C(1) << 62)
#define PM_PRESENT	(UINT64_C(1) << 63)

/* glibc's non-main arena heaps: HEAP_MAX_SIZE on 64-bit targets. */
#define ARENA_SIZE	(UINT64_C(64) << 20)
#define GUARD_MAX	(UINT64_C(1) << 20)

enum kind { K_HEAP, K_ARENA, K_STACK, K_MMAP, K_FILE, K_N };
static const char *const kind_name[K_N] = {
	"heap", "arena", "stack", "mmap", "file"
};

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
	enum kind kind;
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
	struct region *reg;
	size_t nreg;
	struct rec *rec;
	size_t nrec, caprec;
	struct counts kind[K_N];
	struct counts total;
};

struct opts {
	int json, regions, progress;
	int by_kind, by_proc;
	uint64_t chunk;		/* bytes per pread */
	uint64_t max_rate;	/* bytes per second, 0 = unlimited */
};

static size_t pagesz;
static uint64_t *nh_key;

/* --------------------------------------------------------------- hashing */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static uint64_t fmix(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xFF51AFD7ED558CCD);
	x ^= x >> 33;
	x *= UINT64_C(0xC4CEB9FE1A85EC53);
	return x ^ (x >> 33);
}

static int hash_init(void)
{
	size_t n = pagesz / 8 + 2;
	uint64_t s = UINT64_C(0x6B736D70726C6F61);	/* fixed: reproducible */
	nh_key = malloc(n * sizeof(*nh_key));
	if (!nh_key)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		nh_key[i] = splitmix(&s);
	return 0;
}

/*
 * 128-bit page hash: two NH passes (sum of (w[2i]+k[2i]) * (w[2i+1]+k[2i+1])
 * as full 64x64->128-bit products, mod 2^128), the second with the key
 * shifted by two words (the Toeplitz construction), so two different pages
 * collide with probability about 2^-128 per pass pair. The 2x128-bit state
 * is folded to 128 bits with a 64-bit finalizer per pass. One multiply per
 * 8 bytes; about 0.3 us per 4 KiB page.
 */
static void hash_page(const uint64_t *w, uint64_t out[2])
{
	unsigned __int128 a = 0, b = 0;
	const uint64_t *k = nh_key;
	size_t n = pagesz / 8;

	for (size_t i = 0; i < n; i += 2) {
		a += (unsigned __int128)(w[i] + k[i]) * (w[i + 1] + k[i + 1]);
		b += (unsigned __int128)(w[i] + k[i + 2]) * (w[i + 1] + k[i + 3]);
	}
	out[0] = fmix((uint64_t)a ^ fmix((uint64_t)(a >> 64) + UINT64_C(0x9E3779B97F4A7C15)));
	out[1] = fmix((uint64_t)b ^ fmix((uint64_t)(b >> 64) + UINT64_C(0xD6E8FEB86659FD93)));
	if (!out[0] && !out[1])
		out[1] = 1;	/* (0,0) marks an empty slot */
}

static int page_is_zero(const uint64_t *w)
{
	size_t n = pagesz / 8;
	for (size_t i = 0; i < n; i += 8) {
		if (w[i] | w[i + 1] | w[i + 2] | w[i + 3] |
		    w[i + 4] | w[i + 5] | w[i + 6] | w[i + 7])
			return 0;
	}
	return 1;
}

/* ------------------------------------------------- a set of 128-bit keys */

struct set {
	uint64_t *k;		/* 2 words per slot, (0,0) = empty */
	size_t cap, n;
};

static int set_grow(struct set *s)
{
	size_t ncap = s->cap ? s->cap * 2 : 1u << 16;
	uint64_t *nk = calloc(ncap * 2, sizeof(*nk));
	if (!nk)
		return -ENOMEM;
	for (size_t i = 0; i < s->cap; i++) {
		uint64_t a = s->k[2 * i], b = s->k[2 * i + 1];
		if (!a && !b)
			continue;
		size_t j = (size_t)(a ^ fmix(b)) & (ncap - 1);
		while (nk[2 * j] || nk[2 * j + 1])
			j = (j + 1) & (ncap - 1);
		nk[2 * j] = a;
		nk[2 * j + 1] = b;
	}
	free(s->k);
	s->k = nk;
	s->cap = ncap;
	return 0;
}

/* 1 if (a,b) was already there, 0 if added, -ENOMEM. */
static int set_add(struct set *s, uint64_t a, uint64_t b)
{
	if ((s->n + 1) * 2 > s->cap && set_grow(s) < 0)
		return -ENOMEM;
	size_t j = (size_t)(a ^ fmix(b)) & (s->cap - 1);
	for (;;) {
		uint64_t *p = &s->k[2 * j];
		if (!p[0] && !p[1]) {
			p[0] = a;
			p[1] = b;
			s->n++;
			return 0;
		}
		if (p[0] == a && p[1] == b)
			return 1;
		j = (j + 1) & (s->cap - 1);
	}
}

/* ------------------------------------------------------------- utilities */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void counts_add(struct counts *d, const struct counts *s)
{
	d->pages += s->pages;
	d->zero += s->zero;
	d->saved += s->saved;
	d->shared += s->shared;
	d->swapped += s->swapped;
	d->unread += s->unread;
}

/* Whole small /proc file into a malloc'd NUL-terminated buffer. */
static char *slurp_fd(int fd, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	if (!buf)
		return NULL;
	for (;;) {
		if (cap - n < 4096) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			free(buf);
			errno = e;
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -1;
	switch (toupper((unsigned char)*end)) {
	case 'K': v <<= 10; end++; break;
	case 'M': v <<= 20; end++; break;
	case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	else if (*end == 'B')
		end++;
	if (*end)
		return -1;
	*out = v;
	return 0;
}

static void proc_name(int pid, char *name, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	name[0] = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t r = read(fd, name, len - 1);
	close(fd);
	if (r < 0)
		r = 0;
	name[r] = 0;
	name[strcspn(name, "\n")] = 0;
}

/* ------------------------------------------------------ target selection */

struct pidlist {
	int *v;
	size_t n, cap;
};

static int pidlist_add(struct pidlist *l, int pid)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i] == pid)
			return 0;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 16;
		int *nv = realloc(l->v, nc * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = nc;
	}
	l->v[l->n++] = pid;
	return 0;
}

/* The thread group a pid belongs to (a thread id names its process). */
static int tgid_of(int pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pid;
	char *s = slurp_fd(fd, NULL);
	close(fd);
	int tgid = pid;
	const char *t = s ? strstr(s, "\nTgid:") : NULL;
	if (t)
		tgid = atoi(t + 6);
	free(s);
	return tgid > 0 ? tgid : pid;
}

/* Every process whose comm or executable basename is NAME (not us, not
 * kernel threads). Returns how many were added, or -errno. */
static int resolve_name(const char *name, struct pidlist *l)
{
	DIR *d = opendir("/proc");
	if (!d)
		return -errno;
	int found = 0, self = (int)getpid();
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		int pid = atoi(e->d_name);
		if (pid <= 0 || pid == self)
			continue;
		char path[64], exe[PATH_MAX], comm[64];
		snprintf(path, sizeof(path), "/proc/%d/exe", pid);
		ssize_t n = readlink(path, exe, sizeof(exe) - 1);
		if (n < 0 && errno == ENOENT)
			continue;	/* kernel thread or zombie: no memory */
		int match = 0;
		if (n > 0) {
			exe[n] = 0;
			char *del = strstr(exe, " (deleted)");
			if (del && del[10] == 0)
				*del = 0;
			const char *b = strrchr(exe, '/');
			match = strcmp(b ? b + 1 : exe, name) == 0;
		}
		if (!match) {
			proc_name(pid, comm, sizeof(comm));
			match = comm[0] && strcmp(comm, name) == 0;
		}
		if (match) {
			if (pidlist_add(l, pid) < 0) {
				closedir(d);
				return -ENOMEM;
			}
			found++;
		}
	}
	closedir(d);
	return found;
}

/* ------------------------------------------------------- maps and kinds */

struct vma {
	uint64_t start, end;
	char perms[5];
	uint64_t inode;
	const char *path;	/* into the maps buffer; "" when anonymous */
};

static int vma_anon(const struct vma *v)
{
	return v->path[0] == 0 || strncmp(v->path, "[anon:", 6) == 0;
}

static int vma_private(const struct vma *v)
{
	return v->perms[3] == 'p';
}

static int parse_maps(char *buf, struct vma **out, size_t *nout)
{
	size_t cap = 256, n = 0;
	struct vma *v = malloc(cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (char *line = buf; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		unsigned long long s, e, off, ino;
		char perms[5];
		unsigned maj, min;
		int pos = 0;
		if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu %n", &s, &e,
			   perms, &off, &maj, &min, &ino, &pos) >= 7) {
			if (n == cap) {
				struct vma *nv = realloc(v, cap * 2 * sizeof(*v));
				if (!nv) {
					free(v);
					return -ENOMEM;
				}
				v = nv;
				cap *= 2;
			}
			v[n].start = s;
			v[n].end = e;
			memcpy(v[n].perms, perms, 5);
			v[n].inode = ino;
			v[n].path = pos ? line + pos : line + strlen(line);
			n++;
		}
		line = nl ? nl + 1 : NULL;
	}
	*out = v;
	*nout = n;
	return 0;
}

/*
 * glibc arena heap: an anonymous 64 MiB-aligned reservation of exactly
 * 64 MiB, read-write from its start for heap_info.mprotect_size bytes and
 * PROT_NONE after that (the PROT_NONE part may have merged with a
 * neighbouring PROT_NONE mapping, e.g. a thread stack's guard). Returns
 * how many VMAs from i form the window, 0 if it is not one.
 */
static size_t arena_window(const struct vma *v, size_t n, size_t i, int memfd)
{
	uint64_t a = v[i].start, w_end = a + ARENA_SIZE;
	if (a % ARENA_SIZE || !vma_anon(&v[i]) || !vma_private(&v[i]) ||
	    v[i].perms[0] != 'r' || v[i].perms[1] != 'w')
		return 0;
	uint64_t rw_end = a;
	size_t j = i;
	for (; j < n; j++) {
		if (!vma_anon(&v[j]) || !vma_private(&v[j]) ||
		    (j > i && v[j].start != v[j - 1].end))
			return 0;
		int rw = v[j].perms[0] == 'r' && v[j].perms[1] == 'w';
		if (rw && rw_end == v[j].start)
			rw_end = v[j].end;
		if (v[j].end >= w_end) {
			if (v[j].end > w_end && rw)
				return 0;
			break;
		}
	}
	if (j == n)
		return 0;
	uint64_t hi[4];
	if (pread(memfd, hi, sizeof(hi), (off_t)a) != (ssize_t)sizeof(hi))
		return 0;
	if (!hi[0] || hi[3] != rw_end - a)
		return 0;	/* ar_ptr set, mprotect_size == rw part */
	return j - i + 1;
}

static int classify(struct proc *p, const struct vma *v, size_t n, int memfd)
{
	enum { SKIP = -1 };
	int *kind = malloc((n ? n : 1) * sizeof(*kind));
	uint64_t *arena_end = calloc(n ? n : 1, sizeof(*arena_end));
	if (!kind || !arena_end) {
		free(kind);
		free(arena_end);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		kind[i] = SKIP - 1;	/* undecided */
	for (size_t i = 0; i < n; i++) {
		if (kind[i] != SKIP - 1)
			continue;
		size_t w = arena_window(v, n, i, memfd);
		for (size_t j = 0; j < w; j++) {
			kind[i + j] = K_ARENA;
			arena_end[i + j] = v[i].start + ARENA_SIZE;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct vma *m = &v[i];
		if (kind[i] != SKIP - 1)
			continue;
		if (!vma_private(m)) {
			kind[i] = SKIP;	/* shared: KSM never merges it */
		} else if (!strcmp(m->path, "[heap]")) {
			kind[i] = K_HEAP;
		} else if (!strcmp(m->path, "[stack]")) {
			kind[i] = K_STACK;
		} else if (vma_anon(m)) {
			kind[i] = K_MMAP;
			/* thread stack: read-write, right above a PROT_NONE
			 * guard (which may extend an arena's reserve) */
			if (i > 0 && m->perms[1] == 'w' && v[i - 1].end == m->start &&
			    vma_anon(&v[i - 1]) && !strcmp(v[i - 1].perms, "---p")) {
				uint64_t gs = v[i - 1].start;
				if (arena_end[i - 1] && arena_end[i - 1] > gs)
					gs = arena_end[i - 1];
				if (m->start - gs <= GUARD_MAX)
					kind[i] = K_STACK;
			}
		} else if (m->path[0] == '/') {
			kind[i] = K_FILE;
		} else {
			kind[i] = SKIP;	/* [vdso], [vvar], [vsyscall], ... */
		}
	}
	size_t nr = 0;
	for (size_t i = 0; i < n; i++)
		nr += kind[i] >= 0;
	p->reg = calloc(nr ? nr : 1, sizeof(*p->reg));
	if (!p->reg) {
		free(kind);
		free(arena_end);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (kind[i] < 0)
			continue;
		struct region *r = &p->reg[p->nreg++];
		r->start = v[i].start;
		r->end = v[i].end;
		r->kind = (enum kind)kind[i];
		memcpy(r->perms, v[i].perms, 5);
		r->path = strdup(v[i].path);
		if (!r->path) {
			free(kind);
			free(arena_end);
			return -ENOMEM;
		}
	}
	free(kind);
	free(arena_end);
	return 0;
}

/* --------------------------------------------------------------- reading */

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

static void progress(struct scan *s, int final)
{
	double t = now();
	if (!final && t - s->last_progress < 0.25)
		return;
	s->last_progress = t;
	fprintf(stderr, "\rksmpreload estimate: pid %d (%zu/%zu): %" PRIu64
		" / %" PRIu64 " MiB read, %.1f s%s",
		s->cur_pid, s->iproc + 1, s->nproc, s->done_bytes >> 20,
		s->total_bytes >> 20, t - s->t0, final ? "\n" : "");
	fflush(stderr);
}

static void throttle(struct scan *s)
{
	if (!s->o->max_rate)
		return;
	double want = (double)s->done_bytes / (double)s->o->max_rate;
	double ahead = want - (now() - s->t0);
	if (ahead > 0.001) {
		struct timespec ts = {
			(time_t)ahead, (long)((ahead - (double)(time_t)ahead) * 1e9)
		};
		nanosleep(&ts, NULL);
	}
}

static int rec_add(struct proc *p, const struct rec *r)
{
	if (p->nrec == p->caprec) {
		size_t nc = p->caprec ? p->caprec * 2 : 4096;
		struct rec *nr = realloc(p->rec, nc * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		p->rec = nr;
		p->caprec = nc;
	}
	p->rec[p->nrec++] = *r;
	return 0;
}

/* Read the present private pages of [start, end) in region ri. 0, -ESRCH
 * when the process went away, other -errno. */
static int scan_range(struct scan *s, struct proc *p, uint32_t ri,
		      uint64_t start, uint64_t end, int pmfd, int memfd)
{
	struct region *r = &p->reg[ri];
	uint64_t npages = (end - start) / pagesz;
	for (uint64_t pg = 0; pg < npages; pg += s->chunk_pages) {
		size_t n = (size_t)(npages - pg < s->chunk_pages ? npages - pg : s->chunk_pages);
		uint64_t addr = start + pg * pagesz;
		ssize_t got = pread(pmfd, s->pm, n * 8, (off_t)(addr / pagesz * 8));
		if (got < 0)
			return errno == ESRCH ? -ESRCH : -errno;
		if (got == 0)
			return -ESRCH;	/* the mm is gone */
		n = (size_t)got / 8;
		for (size_t i = 0; i < n;) {
			uint64_t e = s->pm[i];
			if (!(e & PM_PRESENT) || (e & PM_FILE)) {
				if (!(e & PM_PRESENT) && (e & PM_SWAP))
					r->c.swapped++;
				i++;
				continue;
			}
			size_t j = i + 1;
			while (j < n && (s->pm[j] & (PM_PRESENT | PM_FILE)) == PM_PRESENT)
				j++;
			size_t want = (j - i) * pagesz;
			ssize_t rd = pread(memfd, s->buf, want,
					   (off_t)(addr + i * pagesz));
			if (rd == 0)
				return -ESRCH;
			if (rd < 0) {
				if (errno == ESRCH)
					return -ESRCH;
				/* unmapped meanwhile (EIO): count, go on */
				r->c.unread += j - i;
				i = j;
				continue;
			}
			size_t pages = (size_t)rd / pagesz;
			for (size_t k = 0; k < pages; k++) {
				const uint64_t *w = s->buf + k * (pagesz / 8);
				uint64_t pe = s->pm[i + k];
				uint64_t pfn = pe & PM_PFN_MASK;
				struct rec rc = { .region = ri };
				if (page_is_zero(w)) {
					/* the shared zero page (or huge zero
					 * page): already costs nothing */
					if (!(pe & PM_EXCLUSIVE) || (pfn && pfn == s->zero_pfn)) {
						r->c.shared++;
						continue;
					}
					rc.flags = REC_ZERO;
				} else {
					hash_page(w, rc.h);
				}
				if (!(pe & PM_EXCLUSIVE))
					rc.pfn = pfn;
				if (rec_add(p, &rc) < 0)
					return -ENOMEM;
			}
			r->c.unread += (j - i) - pages;
			s->done_bytes += (uint64_t)rd;
			i = j;
		}
		if (s->o->progress)
			progress(s, 0);
		throttle(s);
	}
	return 0;
}

/*
 * PAGEMAP_SCAN (Linux >= 6.7, <linux/fs.h>; declared here because older
 * headers lack it): lists the runs of present or swapped pages, so that
 * huge sparse reservations (ASan shadow, JVM and V8 heaps) cost a page
 * table walk instead of 8 bytes of pagemap per virtual page.
 */
struct ksmp_page_region {
	uint64_t start, end, categories;
};
struct ksmp_pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask;
	uint64_t return_mask;
};
#define KSMP_PAGEMAP_SCAN _IOWR('f', 16, struct ksmp_pm_scan_arg)
#define KSMP_PAGE_IS_PRESENT (1u << 3)
#define KSMP_PAGE_IS_SWAPPED (1u << 4)
#define SCAN_VEC 256

static int scan_region(struct scan *s, struct proc *p, uint32_t ri,
		       int pmfd, int memfd)
{
	struct region *r = &p->reg[ri];
	/* small regions: reading pagemap directly is as cheap */
	if (s->no_pmscan || r->end - r->start <= 4 * s->chunk_pages * pagesz)
		return scan_range(s, p, ri, r->start, r->end, pmfd, memfd);
	struct ksmp_page_region vec[SCAN_VEC];
	uint64_t at = r->start;
	while (at < r->end) {
		struct ksmp_pm_scan_arg a = {
			.size = sizeof(a), .start = at, .end = r->end,
			.vec = (uintptr_t)vec, .vec_len = SCAN_VEC,
			.category_anyof_mask = KSMP_PAGE_IS_PRESENT | KSMP_PAGE_IS_SWAPPED,
			.return_mask = KSMP_PAGE_IS_PRESENT | KSMP_PAGE_IS_SWAPPED,
		};
		int n = ioctl(pmfd, KSMP_PAGEMAP_SCAN, &a);
		if (n < 0) {
			if (errno == ESRCH)
				return -ESRCH;
			if (at != r->start)
				return -errno;
			/* no PAGEMAP_SCAN here: plain pagemap from now on */
			s->no_pmscan = 1;
			return scan_range(s, p, ri, r->start, r->end, pmfd, memfd);
		}
		for (int i = 0; i < n; i++) {
			int rc = scan_range(s, p, ri, vec[i].start, vec[i].end,
					    pmfd, memfd);
			if (rc < 0)
				return rc;
		}
		if (a.walk_end <= at)
			break;
		at = a.walk_end;
	}
	return 0;
}

static const char *err_text(int err)
{
	switch (err) {
	case EACCES:
	case EPERM:
		return "permission denied (needs root, or the owner of the process with ptrace access)";
	case ENOENT:
	case ESRCH:
		return "no such process (exited, or a zombie), skipped";
	default:
		return strerror(err);
	}
}

static void scan_proc(struct scan *s, struct proc *p)
{
	char path[64];
	int mapsfd = -1, pmfd = -1, memfd = -1, err = 0;
	char *maps = NULL;
	struct vma *v = NULL;
	size_t nv = 0;

	s->cur_pid = p->pid;
	snprintf(path, sizeof(path), "/proc/%d/maps", p->pid);
	mapsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (mapsfd < 0) {
		err = errno;
		goto out;
	}
	snprintf(path, sizeof(path), "/proc/%d/pagemap", p->pid);
	pmfd = open(path, O_RDONLY | O_CLOEXEC);
	if (pmfd < 0) {
		err = errno;
		goto out;
	}
	snprintf(path, sizeof(path), "/proc/%d/mem", p->pid);
	memfd = open(path, O_RDONLY | O_CLOEXEC);
	if (memfd < 0) {
		err = errno;
		goto out;
	}
	proc_name(p->pid, p->name, sizeof(p->name));
	maps = slurp_fd(mapsfd, NULL);
	if (!maps) {
		err = errno;
		goto out;
	}
	int rc = parse_maps(maps, &v, &nv);
	if (rc == 0)
		rc = classify(p, v, nv, memfd);
	for (size_t i = 0; rc == 0 && i < p->nreg; i++)
		rc = scan_region(s, p, (uint32_t)i, pmfd, memfd);
	if (rc == -ESRCH || (rc == 0 && nv == 0)) {
		/* maps empty: a zombie, or exited between open and read */
		p->state = P_VANISHED;
		p->err = ESRCH;
	} else if (rc < 0) {
		err = -rc;
	}
out:
	if (err) {
		p->state = P_FAILED;
		p->err = err;
	}
	if (p->state != P_OK) {
		free(p->rec);
		p->rec = NULL;
		p->nrec = 0;
	}
	free(v);
	free(maps);
	if (mapsfd >= 0)
		close(mapsfd);
	if (pmfd >= 0)
		close(pmfd);
	if (memfd >= 0)
		close(memfd);
}

/* PFN of the shared zero page, 0 when PFNs are hidden from us (they are
 * without CAP_SYS_ADMIN) or unknown. */
static uint64_t find_zero_pfn(void)
{
	uint64_t pfn = 0, e;
	volatile unsigned char *m = mmap(NULL, pagesz, PROT_READ,
					 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return 0;
	(void)m[0];	/* a read fault maps the zero page */
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (pread(fd, &e, 8, (off_t)((uintptr_t)m / pagesz * 8)) == 8 &&
		    (e & PM_PRESENT))
			pfn = e & PM_PFN_MASK;
		close(fd);
	}
	munmap((void *)m, pagesz);
	return pfn;
}

/* -------------------------------------------------------------- counting */

static int count_all(struct proc *ps, size_t np, struct counts *kind_tot,
		     struct counts *tot, uint64_t *distinct)
{
	struct set contents = { 0 }, pfns = { 0 };
	int rc = 0;
	for (size_t i = 0; i < np && !rc; i++) {
		struct proc *p = &ps[i];
		for (size_t j = 0; j < p->nrec; j++) {
			const struct rec *r = &p->rec[j];
			struct counts *c = &p->reg[r->region].c;
			if (r->pfn) {
				int had = set_add(&pfns, r->pfn, UINT64_C(0x5046));
				if (had < 0) {
					rc = -ENOMEM;
					break;
				}
				if (had) {
					c->shared++;
					continue;
				}
			}
			c->pages++;
			if (r->flags & REC_ZERO) {
				c->zero++;
				continue;
			}
			int had = set_add(&contents, r->h[0], r->h[1]);
			if (had < 0) {
				rc = -ENOMEM;
				break;
			}
			c->saved += (uint64_t)had;
		}
		for (size_t j = 0; j < p->nreg; j++) {
			counts_add(&p->kind[p->reg[j].kind], &p->reg[j].c);
			counts_add(&p->total, &p->reg[j].c);
		}
		for (int k = 0; k < K_N; k++)
			counts_add(&kind_tot[k], &p->kind[k]);
		counts_add(tot, &p->total);
	}
	*distinct = contents.n;
	free(contents.k);
	free(pfns.k);
	return rc;
}

/* ---------------------------------------------------------------- output */

static double mib(uint64_t pages)
{
	return (double)pages * (double)pagesz / 1048576.0;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void json_counts(const struct counts *c)
{
	printf("{\"pages\": %" PRIu64 ", \"zero_pages\": %" PRIu64
	       ", \"saved_pages\": %" PRIu64 ", \"already_shared_pages\": %" PRIu64
	       ", \"swapped_pages\": %" PRIu64 ", \"unread_pages\": %" PRIu64
	       ", \"bytes\": %" PRIu64 ", \"zero_bytes\": %" PRIu64
	       ", \"saved_bytes\": %" PRIu64 "}",
	       c->pages, c->zero, c->saved, c->shared, c->swapped, c->unread,
	       c->pages * pagesz, c->zero * pagesz, c->saved * pagesz);
}

static void json_kinds(const struct counts *k)
{
	printf("{");
	for (int i = 0; i < K_N; i++) {
		printf("%s\"%s\": ", i ? ", " : "", kind_name[i]);
		json_counts(&k[i]);
	}
	printf("}");
}

static void print_json(const struct opts *o, struct proc *ps, size_t np,
		       const struct counts *kt, const struct counts *tot,
		       uint64_t distinct, int pfn_visible, double secs)
{
	printf("{\n  \"page_size\": %zu,\n  \"pfn_visible\": %s,\n"
	       "  \"elapsed_seconds\": %.3f,\n  \"distinct_contents\": %" PRIu64
	       ",\n  \"total\": ", pagesz, pfn_visible ? "true" : "false", secs,
	       distinct);
	json_counts(tot);
	printf(",\n  \"kinds\": ");
	json_kinds(kt);
	printf(",\n  \"processes\": [");
	int first = 1;
	for (size_t i = 0; i < np; i++) {
		struct proc *p = &ps[i];
		if (p->state != P_OK)
			continue;
		printf("%s\n    {\"pid\": %d, \"name\": ", first ? "" : ",", p->pid);
		first = 0;
		json_str(p->name);
		printf(",\n     \"total\": ");
		json_counts(&p->total);
		printf(",\n     \"kinds\": ");
		json_kinds(p->kind);
		if (o->regions) {
			printf(",\n     \"regions\": [");
			for (size_t j = 0; j < p->nreg; j++) {
				const struct region *r = &p->reg[j];
				printf("%s\n      {\"start\": \"%" PRIx64 "\", \"end\": \"%"
				       PRIx64 "\", \"kind\": \"%s\", \"perms\": \"%s\", \"path\": ",
				       j ? "," : "", r->start, r->end, kind_name[r->kind],
				       r->perms);
				json_str(r->path);
				printf(", \"counts\": ");
				json_counts(&r->c);
				printf("}");
			}
			printf("]");
		}
		printf("}");
	}
	printf("],\n  \"errors\": [");
	first = 1;
	for (size_t i = 0; i < np; i++) {
		struct proc *p = &ps[i];
		if (p->state == P_OK)
			continue;
		printf("%s\n    {\"pid\": %d, \"errno\": %d, \"error\": ",
		       first ? "" : ",", p->pid, p->err);
		first = 0;
		json_str(p->state == P_VANISHED ? "vanished" : err_text(p->err));
		printf("}");
	}
	printf("]\n}\n");
}

static void table_header(const char *first)
{
	printf("%-24s %10s %10s %10s %10s %10s %10s\n", first, "PAGES", "MiB",
	       "ZERO", "ZERO_MiB", "SAVED", "SAVED_MiB");
}

static void table_row(const char *label, const struct counts *c)
{
	printf("%-24s %10" PRIu64 " %10.1f %10" PRIu64 " %10.1f %10" PRIu64
	       " %10.1f\n", label, c->pages, mib(c->pages), c->zero,
	       mib(c->zero), c->saved, mib(c->saved));
}

static void print_table(const struct opts *o, struct proc *ps, size_t np,
			const struct counts *kt, const struct counts *tot,
			double secs)
{
	char label[128];
	if (o->by_proc) {
		table_header("PROCESS");
		for (size_t i = 0; i < np; i++) {
			if (ps[i].state != P_OK)
				continue;
			snprintf(label, sizeof(label), "%d %.15s", ps[i].pid, ps[i].name);
			table_row(label, &ps[i].total);
			if (o->regions) {
				for (size_t j = 0; j < ps[i].nreg; j++) {
					const struct region *r = &ps[i].reg[j];
					snprintf(label, sizeof(label), "  %" PRIx64 " %s",
						 r->start, kind_name[r->kind]);
					table_row(label, &r->c);
				}
			}
		}
		table_row("total", tot);
		if (o->by_kind)
			printf("\n");
	}
	if (o->by_kind) {
		table_header("KIND");
		for (int k = 0; k < K_N; k++)
			table_row(kind_name[k], &kt[k]);
		table_row("total", tot);
	}
	printf("\nPerfect merging could save %" PRIu64 " pages (%.1f MiB) of %"
	       PRIu64 " private pages (%.1f MiB)", tot->saved, mib(tot->saved),
	       tot->pages, mib(tot->pages));
	if (tot->pages)
		printf(", %.1f%%", 100.0 * (double)tot->saved / (double)tot->pages);
	printf(",\nplus %" PRIu64 " zero pages (%.1f MiB) with use_zero_pages.\n",
	       tot->zero, mib(tot->zero));
	if (tot->shared || tot->swapped || tot->unread)
		printf("Not counted: %" PRIu64 " pages already shared, %" PRIu64
		       " swapped out, %" PRIu64 " unreadable.\n",
		       tot->shared, tot->swapped, tot->unread);
	printf("Scanned in %.2f s.\n", secs);
}

/* ------------------------------------------------------------------ main */

static void estimate_usage(FILE *out)
{
	fprintf(out,
		"Usage: ksmpreload estimate [OPTION]... PID|NAME...\n"
		"\n"
		"Read the present private pages of the given processes (no merging,\n"
		"no stopping them) and report what perfect KSM merging could save:\n"
		"in total, per process and per kind of memory (heap, arena, stack,\n"
		"mmap, file), with all-zero pages counted apart. A NAME selects every\n"
		"process whose command name or executable basename is NAME.\n"
		"\n"
		"Options:\n"
		"  -j, --json            print JSON instead of tables\n"
		"  -b, --by WHAT         table by 'kind', 'process' or 'both' (default)\n"
		"  -r, --regions         also show every mapping scanned\n"
		"  -c, --chunk SIZE      bytes read per system call (default 1M)\n"
		"  -m, --max-rate RATE   read at most RATE bytes per second (K, M, G)\n"
		"      --progress        show progress on stderr (default: when stderr\n"
		"                        is a terminal and the targets hold > 256 MiB)\n"
		"      --no-progress     never show progress\n"
		"  -h, --help            show this help and exit\n"
		"\n"
		"Needs root, or the owner of the processes (ptrace access rules).\n"
		"Exit status: 0 ok, 1 a process could not be read or vanished,\n"
		"2 usage error. See ksmpreload(1).\n");
}

static uint64_t resident_bytes(int pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/%d/statm", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	unsigned long long size, rss;
	if (sscanf(buf, "%llu %llu", &size, &rss) != 2)
		return 0;
	return rss * pagesz;
}

int ksmp_cmd_estimate(int argc, char **argv)
{
	enum { OPT_PROGRESS = 256, OPT_NO_PROGRESS };
	static const struct option lopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "by", required_argument, NULL, 'b' },
		{ "regions", no_argument, NULL, 'r' },
		{ "chunk", required_argument, NULL, 'c' },
		{ "max-rate", required_argument, NULL, 'm' },
		{ "progress", no_argument, NULL, OPT_PROGRESS },
		{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct opts o = { .by_kind = 1, .by_proc = 1, .chunk = 1 << 20,
			  .progress = -1 };
	int c;

	pagesz = (size_t)sysconf(_SC_PAGESIZE);
	optind = 1;
	while ((c = getopt_long(argc, argv, "jb:rc:m:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'j': o.json = 1; break;
		case 'r': o.regions = 1; break;
		case 'b':
			if (!strcmp(optarg, "kind")) {
				o.by_kind = 1;
				o.by_proc = 0;
			} else if (!strcmp(optarg, "process")) {
				o.by_kind = 0;
				o.by_proc = 1;
			} else if (!strcmp(optarg, "both")) {
				o.by_kind = o.by_proc = 1;
			} else {
				fprintf(stderr, "ksmpreload estimate: --by takes kind, process or both, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'c':
			if (parse_size(optarg, &o.chunk) < 0 || o.chunk < pagesz ||
			    o.chunk > (UINT64_C(256) << 20)) {
				fprintf(stderr, "ksmpreload estimate: bad --chunk '%s' (4K to 256M)\n", optarg);
				return 2;
			}
			break;
		case 'm':
			if (parse_size(optarg, &o.max_rate) < 0 || o.max_rate < pagesz) {
				fprintf(stderr, "ksmpreload estimate: bad --max-rate '%s' (bytes per second, e.g. 200M)\n", optarg);
				return 2;
			}
			break;
		case OPT_PROGRESS: o.progress = 1; break;
		case OPT_NO_PROGRESS: o.progress = 0; break;
		case 'h':
			estimate_usage(stdout);
			return 0;
		default:
			estimate_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "ksmpreload estimate: no process given\n");
		estimate_usage(stderr);
		return 2;
	}

	int status = 0;
	struct pidlist pl = { 0 };
	for (int i = optind; i < argc; i++) {
		const char *a = argv[i];
		if (!*a) {
			fprintf(stderr, "ksmpreload estimate: empty process name\n");
			free(pl.v);
			return 2;
		}
		if (strspn(a, "0123456789") == strlen(a)) {
			long pid = strtol(a, NULL, 10);
			if (pid <= 0 || pid > INT_MAX) {
				fprintf(stderr, "ksmpreload estimate: bad pid '%s'\n", a);
				free(pl.v);
				return 2;
			}
			if (pidlist_add(&pl, tgid_of((int)pid)) < 0)
				goto oom;
			continue;
		}
		int n = resolve_name(a, &pl);
		if (n < 0) {
			fprintf(stderr, "ksmpreload estimate: %s: %s\n", a, strerror(-n));
			status = 1;
		} else if (n == 0) {
			fprintf(stderr, "ksmpreload estimate: no process named '%s'\n", a);
			status = 1;
		}
	}

	struct proc *ps = calloc(pl.n ? pl.n : 1, sizeof(*ps));
	struct scan s = { .o = &o };
	s.chunk_pages = (size_t)(o.chunk / pagesz);
	s.pm = malloc(s.chunk_pages * 8);
	s.buf = aligned_alloc(4096, s.chunk_pages * pagesz);
	if (!ps || !s.pm || !s.buf || hash_init() < 0) {
		free(ps);
		free(s.pm);
		free(s.buf);
		goto oom;
	}
	s.zero_pfn = find_zero_pfn();
	s.nproc = pl.n;
	for (size_t i = 0; i < pl.n; i++) {
		ps[i].pid = pl.v[i];
		s.total_bytes += resident_bytes(pl.v[i]);
	}
	if (o.progress < 0)
		o.progress = isatty(2) && s.total_bytes > (UINT64_C(256) << 20);
	s.t0 = s.last_progress = now();
	for (size_t i = 0; i < pl.n; i++) {
		s.iproc = i;
		scan_proc(&s, &ps[i]);
	}
	if (o.progress && pl.n)
		progress(&s, 1);
	double secs = now() - s.t0;

	struct counts kt[K_N], tot;
	uint64_t distinct = 0;
	memset(kt, 0, sizeof(kt));
	memset(&tot, 0, sizeof(tot));
	int rc = count_all(ps, pl.n, kt, &tot, &distinct);
	secs = now() - s.t0;
	for (size_t i = 0; i < pl.n; i++) {
		if (ps[i].state == P_VANISHED)
			fprintf(stderr, "ksmpreload estimate: pid %d: vanished during the scan, skipped\n", ps[i].pid);
		else if (ps[i].state == P_FAILED)
			fprintf(stderr, "ksmpreload estimate: pid %d: %s\n", ps[i].pid, err_text(ps[i].err));
		if (ps[i].state != P_OK)
			status = 1;
	}
	if (rc < 0) {
		fprintf(stderr, "ksmpreload estimate: %s\n", strerror(-rc));
		status = 1;
	} else if (o.json) {
		print_json(&o, ps, pl.n, kt, &tot, distinct, s.zero_pfn != 0, secs);
	} else {
		print_table(&o, ps, pl.n, kt, &tot, secs);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "ksmpreload estimate: write error on stdout\n");
		status = 1;
	}

	for (size_t i = 0; i < pl.n; i++) {
		for (size_t j = 0; j < ps[i].nreg; j++)
			free(ps[i].reg[j].path);
		free(ps[i].reg);
		free(ps[i].rec);
	}
	free(ps);
	free(s.pm);
	free(s.buf);
	free(nh_key);
	nh_key = NULL;
	free(pl.v);
	return status;
oom:
	fprintf(stderr, "ksmpreload estimate: out of memory\n");
	free(pl.v);
	return 1;
}
