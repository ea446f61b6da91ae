/* origins.c - per origin (kind, calling object, calling function) totals,
 * and the scan cost of each. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "ksmp_util.h"
#include "profile.h"

struct origin *prof_origin_get(struct origins *os, int kind, const char *obj,
				 const char *site)
{
	char func[192];
	snprintf(func, sizeof(func), "%s", site);
	char *plus = strrchr(func, '+');
	if (plus && plus != func)
		*plus = '\0';
	for (size_t i = 0; i < os->n; i++)
		if (os->o[i].kind == kind && !strcmp(os->o[i].obj, obj) &&
		    !strcmp(os->o[i].func, func))
			return &os->o[i];
	if (ksmp_grow(&os->o, &os->cap, os->n + 1, sizeof(*os->o), 64) < 0)
		return NULL;
	struct origin *o = &os->o[os->n++];
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	snprintf(o->obj, sizeof(o->obj), "%s", obj);
	snprintf(o->func, sizeof(o->func), "%s", func);
	snprintf(o->site, sizeof(o->site), "%s", site);
	return o;
}

/* Scan cost: pages ksmd keeps an rmap_item for (the present pages of
 * the advised ranges; a never-touched reservation costs nothing) per
 * merged page. */
double prof_cost_of(uint64_t present, uint64_t merged)
{
	return merged ? (double)present / (double)merged : INFINITY;
}

bool prof_productive(uint64_t present, uint64_t merged)
{
	return merged > 0 && prof_cost_of(present, merged) <= COST_LIMIT;
}

int prof_by_merged(const void *a, const void *b)
{
	const struct origin *x = a, *y = b;
	if (x->merged != y->merged)
		return x->merged > y->merged ? -1 : 1;
	return x->advised > y->advised ? -1 : x->advised < y->advised;
}
