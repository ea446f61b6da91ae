/*
 * policy_noalloc.c - the policy library never allocates: the preload
 * library calls it before malloc is usable and from inside mmap. This
 * test interposes malloc and friends in its own binary and counts the
 * calls made while loading, selecting (directory scan included),
 * matching and formatting.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "../tap.h"

#if defined(__SANITIZE_ADDRESS__)
int main(void)
{
	tap_skip_all("ASan owns malloc in this build: interposing it here would bypass ASan");
}
#else
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static volatile int counting;
static volatile unsigned long allocs;

void *malloc(size_t n)
{
	if (counting)
		allocs++;
	return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	if (counting)
		allocs++;
	return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	if (counting)
		allocs++;
	return __libc_realloc(p, n);
}

void *aligned_alloc(size_t a, size_t n)
{
	if (counting)
		allocs++;
	return __libc_memalign(a, n);
}

int posix_memalign(void **p, size_t a, size_t n)
{
	if (counting)
		allocs++;
	*p = __libc_memalign(a, n);
	return *p ? 0 : 12;
}

static unsigned ndiag;
static void count_diag(void *ctx, const char *f, unsigned l, const char *m)
{
	(void)ctx; (void)f; (void)l; (void)m;
	ndiag++;
}

int main(void)
{
	static struct ksmp_policy p;
	static char buf[KSMP_POLICY_MAX_FILE + 1], out[16384];
	char dir[4096], file[4096];
	const char *src = getenv("KSMP_SRCDIR");

	if (!src)
		tap_skip_all("KSMP_SRCDIR not set");
	snprintf(dir, sizeof dir, "%s/policy", src);
	snprintf(file, sizeof file, "%s/policy/default.policy", src);
	tap_plan(7);

	/* Check that the counter works at all. */
	counting = 1;
	void *v = malloc(16);
	counting = 0;
	free(v);
	ok(allocs == 1, "the malloc counter counts (%lu)", allocs);

	allocs = 0;
	counting = 1;
	int r1 = ksmp_policy_load(&p, file, buf, sizeof buf, count_diag, NULL);
	counting = 0;
	ok(r1 == 0 && allocs == 0, "load + parse: no allocation (%lu)", allocs);

	static const char bad[] = "mode fast\nmerge heapp min=1Q prot=z caller=[\n\x01\n";
	allocs = 0;
	counting = 1;
	int r2 = ksmp_policy_parse(&p, "bad", bad, sizeof bad - 1, count_diag, NULL);
	counting = 0;
	ok(r2 > 0 && allocs == 0, "parse with errors: no allocation (%lu)", allocs);

	allocs = 0;
	counting = 1;
	int r3 = ksmp_policy_select(&p, NULL, dir, "/usr/bin/redis-server", "redis-server",
				    buf, sizeof buf, count_diag, NULL);
	int r4 = ksmp_policy_select(&p, NULL, dir, "/usr/bin/nothing", NULL,
				    buf, sizeof buf, count_diag, NULL);
	int r5 = ksmp_policy_select(&p, "/nonexistent.policy", NULL, "/x", NULL,
				    buf, sizeof buf, count_diag, NULL);
	counting = 0;
	ok(r3 == 0 && r4 == 0 && r5 < 0 && allocs == 0,
	   "select (directory scan, default, missing file): no allocation (%lu)", allocs);

	ksmp_policy_load(&p, file, buf, sizeof buf, NULL, NULL);
	allocs = 0;
	counting = 1;
	unsigned hits = 0;
	for (int k = 0; k < KSMP_KIND_COUNT; k++) {
		struct ksmp_query q = { .kind = (enum ksmp_kind)k, .size = 1 << 20,
					.prot = 3, .caller = "libcrypto.so.3" };
		enum ksmp_action a;
		hits += ksmp_policy_match(&p, &q, &a) >= 0;
		q.caller = NULL;
		hits += ksmp_policy_match(&p, &q, &a) >= 0;
	}
	hits += ksmp_policy_matches_program(&p, "/usr/bin/python3.11", "python3");
	counting = 0;
	ok(hits > 0 && allocs == 0, "match: no allocation (%lu)", allocs);

	allocs = 0;
	counting = 1;
	size_t n = ksmp_policy_format(&p, out, sizeof out);
	ksmp_policy_default(&p);
	counting = 0;
	ok(n > 0 && allocs == 0, "format + default: no allocation (%lu)", allocs);
	ok(ndiag > 0, "diagnostics were produced during the test (%u)", ndiag);
	return tap_done();
}
#endif
