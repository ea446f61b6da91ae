/* count.c - counting once every process was read: each physical page
 * once, each content's first copy kept and later copies saved. */
#include <errno.h>
#include <stdlib.h>

#include "estimate.h"

static void counts_add(struct counts *d, const struct counts *s)
{
	d->pages += s->pages;
	d->zero += s->zero;
	d->saved += s->saved;
	d->shared += s->shared;
	d->swapped += s->swapped;
	d->unread += s->unread;
}

int est_count_all(struct proc *ps, size_t np, struct counts *kind_tot,
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
				int had = est_set_add(&pfns, r->pfn, UINT64_C(0x5046));
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
			int had = est_set_add(&contents, r->h[0], r->h[1]);
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
		for (int k = 0; k < KSMP_KIND_COUNT; k++)
			counts_add(&kind_tot[k], &p->kind[k]);
		counts_add(tot, &p->total);
	}
	*distinct = contents.n;
	free(contents.k);
	free(pfns.k);
	return rc;
}

