/* report.c - the profile report, as text or JSON. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ksmp_util.h"
#include "policy.h"
#include "profile.h"

void prof_human(char *buf, size_t sz, uint64_t b)
{
	if (b >= (1ull << 30))
		snprintf(buf, sz, "%.1fG", b / (double)(1ull << 30));
	else if (b >= (1ull << 20))
		snprintf(buf, sz, "%.1fM", b / (double)(1ull << 20));
	else if (b >= 1024)
		snprintf(buf, sz, "%.0fK", b / 1024.0);
	else
		snprintf(buf, sz, "%" PRIu64, b);
}

/* object!function, escaped for a terminal: the names come from the
 * target's state block and its objects' file and symbol names. */
static void origin_label(const struct origin *o, char *buf, size_t sz)
{
	char ob[4 * sizeof(o->obj) + 1], fn[4 * sizeof(o->func) + 1];
	snprintf(buf, sz, "%s!%s",
		 o->obj[0] ? ksmp_text_esc(ob, sizeof(ob), o->obj) : "-",
		 o->func[0] ? ksmp_text_esc(fn, sizeof(fn), o->func) : "-");
}

void prof_report_text(FILE *f, const struct origins *os,
			const struct inst *in, int n)
{
	uint64_t ta = 0, tr = 0, tm = 0;
	fprintf(f, "%-6s %-60s %9s %9s %9s %8s\n", "KIND", "ORIGIN", "ADVISED",
		"RSS", "MERGED", "COST");
	for (size_t i = 0; i < os->n; i++) {
		const struct origin *o = &os->o[i];
		char lab[1400], a[16], r[16], m[16], c[24];
		origin_label(o, lab, sizeof(lab));
		prof_human(a, sizeof(a), o->advised);
		prof_human(r, sizeof(r), o->rss);
		prof_human(m, sizeof(m), o->merged);
		if (o->merged)
			snprintf(c, sizeof(c), "%.1f%s", prof_cost_of(o->rss, o->merged),
				 prof_productive(o->rss, o->merged) ? "" : "!");
		else
			snprintf(c, sizeof(c), "inf!");
		fprintf(f, "%-6s %-60s %9s %9s %9s %8s\n",
			ksmp_kind_name((enum ksmp_kind)o->kind), lab, a, r, m, c);
		ta += o->advised;
		tr += o->rss;
		tm += o->merged;
	}
	char a[16], r[16], m[16];
	prof_human(a, sizeof(a), ta);
	prof_human(r, sizeof(r), tr);
	prof_human(m, sizeof(m), tm);
	fprintf(f, "%-6s %-60s %9s %9s %9s %8.1f\n", "total", "", a, r, m,
		tm ? prof_cost_of(tr, tm) : 0.0);
	fprintf(f, "\nADVISED = bytes marked MADV_MERGEABLE; RSS = their present bytes (what "
		"ksmd scans,\none rmap_item per page); MERGED = bytes on KSM pages; COST = RSS "
		"pages per merged\npage ('!': above %d, the kernel's give-up hint, or nothing "
		"merged).\n", COST_LIMIT);
	for (int i = 0; i < n; i++)
		if (in[i].estimated) {
			fprintf(f, "MERGED is estimated (smaps KSM: shared out by length over "
				"the regions of each VMA): run as root for exact page figures.\n");
			break;
		}
	fprintf(f, "%-8s %16s %16s %16s %12s\n", "PID", "merging_pages",
		"rmap_items", "process_profit", "advised");
	for (int i = 0; i < n; i++) {
		if (!in[i].read_ok) {
			fprintf(f, "%-8d (not read: exited or no state block)\n", (int)in[i].pid);
			continue;
		}
		prof_human(a, sizeof(a), in[i].advised);
		fprintf(f, "%-8d %16lld %16lld %16lld %12s\n", (int)in[i].pid,
			in[i].merging, in[i].rmap, in[i].profit, a);
	}
}

void prof_report_json(FILE *f, const struct origins *os, const struct inst *in,
			int n, const char *policy)
{
	uint64_t ta = 0, tm = 0;
	fprintf(f, "{\n  \"origins\": [");
	for (size_t i = 0; i < os->n; i++) {
		const struct origin *o = &os->o[i];
		fprintf(f, "%s\n    {\"kind\": \"%s\", \"object\": ", i ? "," : "",
			ksmp_kind_name((enum ksmp_kind)o->kind));
		ksmp_json_str(f, o->obj);
		fprintf(f, ", \"function\": ");
		ksmp_json_str(f, o->func);
		fprintf(f, ", \"site\": ");
		ksmp_json_str(f, o->site);
		fprintf(f, ", \"regions\": %" PRIu64 ", \"advised\": %" PRIu64
			", \"rss\": %" PRIu64 ", \"merged\": %" PRIu64
			", \"cost\": %.2f, \"productive\": %s}",
			o->regions, o->advised, o->rss, o->merged,
			o->merged ? prof_cost_of(o->rss, o->merged) : -1.0,
			prof_productive(o->rss, o->merged) ? "true" : "false");
		ta += o->advised;
		tm += o->merged;
	}
	fprintf(f, "\n  ],\n  \"total\": {\"advised\": %" PRIu64 ", \"merged\": %" PRIu64 "},\n",
		ta, tm);
	fprintf(f, "  \"processes\": [");
	for (int i = 0; i < n; i++)
		fprintf(f, "%s\n    {\"pid\": %d, \"read\": %s, \"exact\": %s, "
			"\"ksm_merging_pages\": %lld, \"ksm_rmap_items\": %lld, "
			"\"ksm_process_profit\": %lld}",
			i ? "," : "", (int)in[i].pid, in[i].read_ok ? "true" : "false",
			in[i].read_ok && !in[i].estimated ? "true" : "false",
			in[i].merging, in[i].rmap, in[i].profit);
	fprintf(f, "\n  ]");
	if (policy) {
		fprintf(f, ",\n  \"policy\": ");
		ksmp_json_str(f, policy);
	}
	fprintf(f, "\n}\n");
}
