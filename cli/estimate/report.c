/* report.c - the estimate as tables or JSON. */
#include <inttypes.h>
#include <stdio.h>

#include "estimate.h"
#include "ksmp_util.h"

const enum ksmp_kind est_kinds[EST_NKINDS] = {
	KSMP_KIND_HEAP, KSMP_KIND_ARENA, KSMP_KIND_STACK, KSMP_KIND_MMAP,
	KSMP_KIND_FILE, KSMP_KIND_DATA
};

static double mib(uint64_t pages)
{
	return (double)pages * (double)pagesz / 1048576.0;
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
	for (int i = 0; i < EST_NKINDS; i++) {
		printf("%s\"%s\": ", i ? ", " : "", ksmp_kind_name(est_kinds[i]));
		json_counts(&k[est_kinds[i]]);
	}
	printf("}");
}

void est_print_json(const struct opts *o, struct proc *ps, size_t np,
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
		ksmp_json_str(stdout, p->name);
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
				       j ? "," : "", r->start, r->end, ksmp_kind_name(r->kind),
				       r->perms);
				ksmp_json_str(stdout, r->path);
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
		ksmp_json_str(stdout, p->state == P_VANISHED ? "vanished" : est_err_text(p->err));
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

void est_print_table(const struct opts *o, struct proc *ps, size_t np,
			const struct counts *kt, const struct counts *tot,
			double secs)
{
	char label[128];
	if (o->by_proc) {
		table_header("PROCESS");
		for (size_t i = 0; i < np; i++) {
			if (ps[i].state != P_OK)
				continue;
			char nm[4 * 16 + 1];	/* comm: 15 bytes, escaped */
			snprintf(label, sizeof(label), "%d %s", ps[i].pid,
				 ksmp_text_esc(nm, sizeof(nm), ps[i].name));
			table_row(label, &ps[i].total);
			if (o->regions) {
				for (size_t j = 0; j < ps[i].nreg; j++) {
					const struct region *r = &ps[i].reg[j];
					snprintf(label, sizeof(label), "  %" PRIx64 " %s",
						 r->start, ksmp_kind_name(r->kind));
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
		for (int k = 0; k < EST_NKINDS; k++)
			table_row(ksmp_kind_name(est_kinds[k]), &kt[est_kinds[k]]);
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

