/*
 * ranges.c - regions mode seen from outside: sort the mappings of
 * /proc/PID/maps into the policy's kinds and keep those a rule merges.
 *
 * From outside a process there is no calling library, so rules with a
 * caller= condition never match here (the caller says so to the user);
 * and a large malloc chunk cannot be told from the program's own mmap:
 * an anonymous mapping is judged as `mmap`, and as `chunk` when no rule
 * decides it as `mmap`. Shared mappings and the kernel's special ones
 * ([vdso], [vvar], ...) are never selected: KSM ignores them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "ksmp_util.h"

#define ARENA_SIZE (64ull << 20)	/* glibc's HEAP_MAX_SIZE on 64-bit */
#define GUARD_MAX (1ull << 20)

struct vma {
	uint64_t start, end;
	char perms[5];
	char kind_hint;		/* 'h' heap, 's' stack, 'a' anon, 'f' file, 0 none */
};

static int parse(pid_t pid, struct vma **out, size_t *nout)
{
	char path[64], line[4352];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	size_t cap = 0, n = 0;
	struct vma *v = NULL;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e;
		char perms[5];
		int pos = 0;
		if (sscanf(line, "%llx-%llx %4s %*x %*x:%*x %*u %n", &s, &e, perms, &pos) < 3)
			continue;
		if (ksmp_grow(&v, &cap, n + 1, sizeof(*v), 256) < 0) {
			free(v);
			fclose(f);
			return -ENOMEM;
		}
		const char *name = pos ? line + pos : "";
		size_t nl = strcspn(name, "\n");
		v[n].start = s;
		v[n].end = e;
		memcpy(v[n].perms, perms, 5);
		if (perms[3] != 'p')
			v[n].kind_hint = 0;
		else if (!strncmp(name, "[heap]", 6))
			v[n].kind_hint = 'h';
		else if (!strncmp(name, "[stack]", 7))
			v[n].kind_hint = 's';
		else if (nl == 0 || !strncmp(name, "[anon:", 6))
			v[n].kind_hint = 'a';
		else if (name[0] == '/')
			v[n].kind_hint = 'f';
		else
			v[n].kind_hint = 0;
		n++;
	}
	fclose(f);
	*out = v;
	*nout = n;
	return 0;
}

/* Anonymous private mappings from i that tile one 64 MiB-aligned window
 * of exactly 64 MiB: a glibc arena heap (its read-write part first, the
 * rest of its reservation PROT_NONE). Returns how many, or 0. */
static size_t arena_window(const struct vma *v, size_t n, size_t i)
{
	uint64_t a = v[i].start;
	if (a % ARENA_SIZE || v[i].kind_hint != 'a' || strncmp(v[i].perms, "rw", 2))
		return 0;
	for (size_t j = i; j < n; j++) {
		if (v[j].kind_hint != 'a' || (j > i && v[j].start != v[j - 1].end))
			return 0;
		if (v[j].end == a + ARENA_SIZE)
			return j - i + 1;
		if (v[j].end > a + ARENA_SIZE)
			return 0;
	}
	return 0;
}

static int prot_of(const char *perms)
{
	return (perms[0] == 'r' ? KSMP_PROT_R : 0) | (perms[1] == 'w' ? KSMP_PROT_W : 0) |
		(perms[2] == 'x' ? KSMP_PROT_X : 0);
}

static bool merged(const struct ksmp_policy *pol, enum ksmp_kind kind,
		   const struct vma *m, bool try_chunk)
{
	struct ksmp_query q = {
		.kind = kind, .size = m->end - m->start,
		.prot = prot_of(m->perms), .caller = NULL,
	};
	enum ksmp_action act;
	if (ksmp_policy_match(pol, &q, &act) >= 0 || !try_chunk)
		return act == KSMP_ACT_MERGE;
	q.kind = KSMP_KIND_CHUNK;
	ksmp_policy_match(pol, &q, &act);
	return act == KSMP_ACT_MERGE;
}

static enum ksmp_kind kind_of(const struct vma *v, size_t i, size_t *arena_left)
{
	const struct vma *m = &v[i];
	if (*arena_left) {
		(*arena_left)--;
		return KSMP_KIND_ARENA;
	}
	switch (m->kind_hint) {
	case 'h':
		return KSMP_KIND_HEAP;
	case 's':
		return KSMP_KIND_STACK;
	case 'f':
		return KSMP_KIND_FILE;
	default:
		/* a thread stack: read-write right above a PROT_NONE guard */
		if (i > 0 && m->perms[1] == 'w' && v[i - 1].end == m->start &&
		    v[i - 1].kind_hint == 'a' && !strcmp(v[i - 1].perms, "---p") &&
		    v[i - 1].end - v[i - 1].start <= GUARD_MAX)
			return KSMP_KIND_STACK;
		return KSMP_KIND_MMAP;
	}
}

int attach_select(pid_t pid, const struct ksmp_policy *pol,
		  struct attach_range **out, size_t *nout, uint64_t *bytes)
{
	struct vma *v;
	size_t n;
	int err = parse(pid, &v, &n);
	if (err)
		return err;
	struct attach_range *r = calloc(n ? n : 1, sizeof(*r));
	if (!r) {
		free(v);
		return -ENOMEM;
	}
	size_t nr = 0, arena_left = 0;
	*bytes = 0;
	for (size_t i = 0; i < n; i++) {
		if (!v[i].kind_hint)
			continue;
		if (!arena_left) {
			size_t w = arena_window(v, n, i);
			arena_left = w;
		}
		enum ksmp_kind k = kind_of(v, i, &arena_left);
		if (!merged(pol, k, &v[i], k == KSMP_KIND_MMAP))
			continue;
		*bytes += v[i].end - v[i].start;
		if (nr && r[nr - 1].end == v[i].start)
			r[nr - 1].end = v[i].end;	/* one madvise for both */
		else
			r[nr++] = (struct attach_range){ v[i].start, v[i].end };
	}
	free(v);
	*out = r;
	*nout = nr;
	return 0;
}
