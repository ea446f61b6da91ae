/*
 * util_grow.c - ksmp_grow, the doubling growth of the command's and
 * mergefs's arrays: capacities, contents kept, and refusals (size
 * overflow, elem 0, a failing realloc) that leave the array and its
 * capacity as they were. realloc is wrapped (-Wl,--wrap=realloc) to
 * count calls and to fail on demand.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ksmp_util.h"
#include "tap.h"

void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);

static int reallocs, fail_next;

void *__wrap_realloc(void *p, size_t n)
{
	reallocs++;
	if (fail_next) {
		fail_next = 0;
		return NULL;
	}
	return __real_realloc(p, n);
}

struct item {
	int a, b, c;
};

/* ksmp_grow refused: -1, ENOMEM, no change to the array or capacity. */
static void refused(struct item **v, size_t *cap, size_t need, size_t elem,
		    int calls, const char *what)
{
	struct item *old = *v;
	size_t oldcap = *cap;
	int before = reallocs;
	errno = 0;
	int r = ksmp_grow(v, cap, need, elem, 16);
	ok(r == -1 && errno == ENOMEM && *v == old && *cap == oldcap &&
	   reallocs - before == calls, "%s: -1, ENOMEM, array and capacity kept", what);
}

int main(void)
{
	tap_plan(14);
	struct item *v = NULL;
	size_t cap = 0;
	ok(ksmp_grow(&v, &cap, 1, sizeof(*v), 16) == 0 && v && cap == 16,
	   "from empty: the first capacity (16)");
	struct item *was = v;
	int before = reallocs;
	ok(ksmp_grow(&v, &cap, 16, sizeof(*v), 16) == 0 && v == was && cap == 16 &&
	   reallocs == before, "need within capacity: no realloc");
	ok(ksmp_grow(&v, &cap, 17, sizeof(*v), 16) == 0 && cap == 32, "17 of 16: doubles to 32");
	ok(ksmp_grow(&v, &cap, 200, sizeof(*v), 16) == 0 && cap == 256,
	   "200 of 32: doubles until it holds (256)");

	size_t n = 0, good = 1;
	for (; n < 100000; n++) {
		if (ksmp_grow(&v, &cap, n + 1, sizeof(*v), 16) < 0)
			break;
		v[n] = (struct item){ (int)n, (int)(n * 3), -(int)n };
	}
	for (size_t i = 0; i < n; i++)
		good &= v[i].a == (int)i && v[i].b == (int)(i * 3) && v[i].c == -(int)i;
	ok(n == 100000 && cap == 131072 && good,
	   "100,000 items appended one by one: capacity 131072, contents kept");

	refused(&v, &cap, SIZE_MAX, sizeof(*v), 0, "SIZE_MAX elements");
	refused(&v, &cap, SIZE_MAX / sizeof(*v) + 1, sizeof(*v), 0,
		"elements x size past SIZE_MAX");
	refused(&v, &cap, cap + 1, 0, 0, "elem 0");
	fail_next = 1;
	refused(&v, &cap, cap + 1, sizeof(*v), 1, "realloc fails");
	good = 1;
	for (size_t i = 0; i < n; i++)
		good &= v[i].a == (int)i && v[i].c == -(int)i;
	ok(good, "after the refusals the contents are intact");
	ok(ksmp_grow(&v, &cap, cap + 1, sizeof(*v), 16) == 0 && cap == 262144 &&
	   v[n - 1].b == (int)((n - 1) * 3), "and the array grows again");
	free(v);

	char *s = NULL;
	size_t sc = 0;
	ok(ksmp_grow(&s, &sc, 1, 1, 0) == 0 && sc == 1, "first 0: starts at 1");
	ok(ksmp_grow(&s, &sc, 5, 1, 0) == 0 && sc == 8, "bytes: 5 of 1 gives 8");
	free(s);
	s = NULL;
	sc = 0;
	fail_next = 1;
	errno = 0;
	ok(ksmp_grow(&s, &sc, 1, 1, 64) == -1 && errno == ENOMEM && !s && sc == 0,
	   "from empty, realloc fails: still NULL and 0");
	return tap_done();
}
