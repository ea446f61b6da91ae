/* scan.c - reading a process's present private pages: pagemap (or
 * PAGEMAP_SCAN for large sparse regions) says which, /proc/PID/mem reads
 * them in chunks, each becomes a hash record. Never stops the target. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "estimate.h"
#include "ksmp_pagemap.h"
#include "ksmp_util.h"


void est_progress(struct scan *s, int final)
{
	double t = ksmp_now();
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
	double ahead = want - (ksmp_now() - s->t0);
	if (ahead > 0.001) {
		struct timespec ts = {
			(time_t)ahead, (long)((ahead - (double)(time_t)ahead) * 1e9)
		};
		nanosleep(&ts, NULL);
	}
}

static int rec_add(struct proc *p, const struct rec *r)
{
	if (ksmp_grow(&p->rec, &p->caprec, p->nrec + 1, sizeof(*p->rec), 4096) < 0)
		return -ENOMEM;
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
				if (est_page_is_zero(w)) {
					/* the shared zero page (or huge zero
					 * page): already costs nothing */
					if (!(pe & PM_EXCLUSIVE) || (pfn && pfn == s->zero_pfn)) {
						r->c.shared++;
						continue;
					}
					rc.flags = REC_ZERO;
				} else {
					est_hash_page(w, rc.h);
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
			est_progress(s, 0);
		throttle(s);
	}
	return 0;
}

/* PAGEMAP_SCAN (ksmp_pagemap.h) lists the runs of present or swapped
 * pages, so that huge sparse reservations (ASan shadow, JVM and V8 heaps)
 * cost a page table walk instead of 8 bytes of pagemap per virtual page. */
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

const char *est_err_text(int err)
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

/* The process is gone: it exited, or is a zombie, before or while it was
 * read. A process found by name or cgroup that is gone does not fail the
 * run (the set found is a snapshot, as pgrep's); one named by its pid
 * does. */
int est_gone(const struct proc *p)
{
	return p->state == P_VANISHED ||
	       (p->state == P_FAILED && (p->err == ESRCH || p->err == ENOENT));
}

void est_scan_proc(struct scan *s, struct proc *p)
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
	est_proc_name(p->pid, p->name, sizeof(p->name));
	maps = ksmp_read_fd(mapsfd, NULL);
	if (!maps) {
		err = errno;
		goto out;
	}
	int rc = est_parse_maps(maps, &v, &nv);
	if (rc == 0)
		rc = est_classify(p, v, nv, memfd);
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
uint64_t est_find_zero_pfn(void)
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

