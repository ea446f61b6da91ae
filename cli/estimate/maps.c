/* maps.c - /proc/PID/maps parsed and classified into region kinds: the
 * brk heap, glibc arena heaps (recognised by their heap_info header),
 * thread stacks (above a PROT_NONE guard), loaded objects' static data
 * (read-write private mappings of a file that is also mapped executable,
 * and the anonymous .bss tail right after one), other anonymous mappings
 * and private file mappings; shared mappings are skipped (KSM never
 * merges them). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "estimate.h"
#include "ksmp_util.h"

#if __SIZEOF_POINTER__ == 8
#define OWN_CLASS ELFCLASS64
#else
#define OWN_CLASS ELFCLASS32
#endif

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

/* A read-write private mapping of a loaded object: the same file (inode
 * and path) is mapped executable too. */
static int vma_object_data(const struct vma *v, size_t n, size_t i)
{
	const struct vma *m = &v[i];
	if (m->path[0] != '/' || strcmp(m->perms, "rw-p"))
		return 0;
	for (size_t j = 0; j < n; j++)
		if (v[j].perms[2] == 'x' && v[j].inode == m->inode &&
		    !strcmp(v[j].path, m->path))
			return 1;
	return 0;
}

/*
 * Where the .bss of the object whose read-write file mapping is d ends
 * (page-rounded), from the object's program headers: the loader maps the
 * rest of a writable segment past its file bytes anonymously, right after
 * d. 0 when unknown. The file is read through /proc/PID/map_files, as
 * the process sees it.
 */
static uint64_t bss_end(int pid, const struct vma *d)
{
	char path[96];
	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64,
		 pid, d->start, d->end);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ElfW(Ehdr) eh;
	ElfW(Phdr) ph[64];
	uint64_t end = 0;
	if (pread(fd, &eh, sizeof(eh), 0) == (ssize_t)sizeof(eh) &&
	    !memcmp(eh.e_ident, ELFMAG, SELFMAG) && eh.e_ident[EI_CLASS] == OWN_CLASS &&
	    eh.e_phentsize == sizeof(ph[0]) && eh.e_phnum <= 64) {
		ssize_t want = (ssize_t)(eh.e_phnum * sizeof(ph[0]));
		if (pread(fd, ph, (size_t)want, (off_t)eh.e_phoff) != want)
			eh.e_phnum = 0;
		uint64_t pg = pagesz;
		for (int i = 0; i < eh.e_phnum; i++) {
			/* the segment whose file bytes d maps (its start may be
			 * read-only after relocation: a mapping of its own) */
			if (ph[i].p_type != PT_LOAD || !(ph[i].p_flags & PF_W) ||
			    d->offset < (ph[i].p_offset & ~(pg - 1)) ||
			    d->offset >= ph[i].p_offset + ph[i].p_filesz)
				continue;
			uint64_t bias = d->start - d->offset -
					(ph[i].p_vaddr - ph[i].p_offset);
			end = (bias + ph[i].p_vaddr + ph[i].p_memsz + pg - 1) & ~(pg - 1);
			break;
		}
	}
	close(fd);
	return end;
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
			if (ksmp_grow(&v, &cap, n + 1, sizeof(*v), 256) < 0) {
				free(v);
				return -ENOMEM;
			}
			v[n].start = s;
			v[n].end = e;
			memcpy(v[n].perms, perms, 5);
			v[n].inode = ino;
			v[n].offset = off;
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

enum { SKIP = -1, UNDECIDED = -2 };

/* The kind of anonymous mapping i; *split: where its first part ends
 * when only that part is of the kind (a .bss tail followed by other
 * anonymous memory in the same VMA). */
static int anon_kind(int pid, const struct vma *v, size_t i, const int *kind,
		     const uint64_t *arena_end, uint64_t *split)
{
	const struct vma *m = &v[i];
	if (i == 0 || v[i - 1].end != m->start)
		return KSMP_KIND_MMAP;
	const struct vma *b = &v[i - 1];
	if (kind[i - 1] == KSMP_KIND_DATA && b->path[0] == '/' && !m->path[0] &&
	    !strcmp(m->perms, "rw-p")) {
		uint64_t end = bss_end(pid, b);
		if (end > m->start) {
			*split = end < m->end ? end : 0;
			return KSMP_KIND_DATA;	/* the .bss tail */
		}
	}
	/* thread stack: read-write, right above a PROT_NONE guard (which
	 * may extend an arena's reserve) */
	if (m->perms[1] == 'w' && vma_anon(b) && !strcmp(b->perms, "---p")) {
		uint64_t gs = b->start;
		if (arena_end[i - 1] && arena_end[i - 1] > gs)
			gs = arena_end[i - 1];
		if (m->start - gs <= GUARD_MAX)
			return KSMP_KIND_STACK;
	}
	return KSMP_KIND_MMAP;
}

static int add_region(struct proc *p, const struct vma *m, uint64_t start,
		      uint64_t end, int kind)
{
	struct region *r = &p->reg[p->nreg++];
	r->start = start;
	r->end = end;
	r->kind = (enum ksmp_kind)kind;
	memcpy(r->perms, m->perms, 5);
	r->path = strdup(m->path);
	return r->path ? 0 : -ENOMEM;
}

int est_classify(struct proc *p, const struct vma *v, size_t n, int memfd)
{
	int *kind = malloc((n ? n : 1) * sizeof(*kind));
	uint64_t *arena_end = calloc(n ? n : 1, sizeof(*arena_end));
	uint64_t *split = calloc(n ? n : 1, sizeof(*split));
	int rc = -ENOMEM;
	if (!kind || !arena_end || !split)
		goto out;
	for (size_t i = 0; i < n; i++)
		kind[i] = UNDECIDED;
	for (size_t i = 0; i < n; i++) {
		if (kind[i] != UNDECIDED)
			continue;
		size_t w = arena_window(v, n, i, memfd);
		for (size_t j = 0; j < w; j++) {
			kind[i + j] = KSMP_KIND_ARENA;
			arena_end[i + j] = v[i].start + ARENA_SIZE;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct vma *m = &v[i];
		if (kind[i] != UNDECIDED)
			continue;
		if (!vma_private(m))
			kind[i] = SKIP;	/* shared: KSM never merges it */
		else if (!strcmp(m->path, "[heap]"))
			kind[i] = KSMP_KIND_HEAP;
		else if (!strcmp(m->path, "[stack]"))
			kind[i] = KSMP_KIND_STACK;
		else if (vma_object_data(v, n, i))
			kind[i] = KSMP_KIND_DATA;
		else if (vma_anon(m))
			kind[i] = anon_kind(p->pid, v, i, kind, arena_end, &split[i]);
		else if (m->path[0] == '/')
			kind[i] = KSMP_KIND_FILE;
		else
			kind[i] = SKIP;	/* [vdso], [vvar], [vsyscall], ... */
	}
	size_t nr = 0;
	for (size_t i = 0; i < n; i++)
		nr += (kind[i] >= 0) + (split[i] != 0);
	p->reg = calloc(nr ? nr : 1, sizeof(*p->reg));
	if (!p->reg)
		goto out;
	rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		if (kind[i] < 0)
			continue;
		if (split[i])
			rc = add_region(p, &v[i], v[i].start, split[i], kind[i]) ||
			     add_region(p, &v[i], split[i], v[i].end, KSMP_KIND_MMAP) ?
			     -ENOMEM : 0;
		else
			rc = add_region(p, &v[i], v[i].start, v[i].end, kind[i]);
	}
out:
	free(kind);
	free(arena_end);
	free(split);
	return rc;
}
