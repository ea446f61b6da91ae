/* maps.c - /proc/PID/maps parsed and classified into region kinds: the
 * brk heap, glibc arena heaps (recognised by their heap_info header),
 * thread stacks (above a PROT_NONE guard), other anonymous mappings and
 * private file mappings; shared mappings are skipped (KSM never merges
 * them). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "estimate.h"

/* glibc's non-main arena heaps: HEAP_MAX_SIZE on 64-bit targets. */
#define ARENA_SIZE	(UINT64_C(64) << 20)
#define GUARD_MAX	(UINT64_C(1) << 20)


static int vma_anon(const struct vma *v)
{
	return v->path[0] == 0 || strncmp(v->path, "[anon:", 6) == 0;
}

static int vma_private(const struct vma *v)
{
	return v->perms[3] == 'p';
}

int est_parse_maps(char *buf, struct vma **out, size_t *nout)
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

int est_classify(struct proc *p, const struct vma *v, size_t n, int memfd)
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
			kind[i + j] = KSMP_KIND_ARENA;
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
			kind[i] = KSMP_KIND_HEAP;
		} else if (!strcmp(m->path, "[stack]")) {
			kind[i] = KSMP_KIND_STACK;
		} else if (vma_anon(m)) {
			kind[i] = KSMP_KIND_MMAP;
			/* thread stack: read-write, right above a PROT_NONE
			 * guard (which may extend an arena's reserve) */
			if (i > 0 && m->perms[1] == 'w' && v[i - 1].end == m->start &&
			    vma_anon(&v[i - 1]) && !strcmp(v[i - 1].perms, "---p")) {
				uint64_t gs = v[i - 1].start;
				if (arena_end[i - 1] && arena_end[i - 1] > gs)
					gs = arena_end[i - 1];
				if (m->start - gs <= GUARD_MAX)
					kind[i] = KSMP_KIND_STACK;
			}
		} else if (m->path[0] == '/') {
			kind[i] = KSMP_KIND_FILE;
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
		r->kind = (enum ksmp_kind)kind[i];
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

