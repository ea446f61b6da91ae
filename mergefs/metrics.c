/*
 * metrics.c - /metrics, the Prometheus text exposition format 0.0.4,
 * clean for `promtool check metrics`: counters end in _total, values are
 * in base units (seconds, bytes, ratios), every family has a HELP that
 * says what it means, and a build-info series names the version.
 *
 * Per-process series are rendered for the reader: root sees every
 * process, another user only the processes it owns (the same rule as the
 * /PID files), so /metrics tells no user more than /proc does. Host-wide
 * figures are the same for everyone. -o process_metrics=0 drops the
 * per-process series (they churn with pids); the per-cgroup sums (a
 * container, a systemd unit) stay, over the same processes, and are also
 * the host file cgroups.
 *
 * Label values are escaped for the format (\\, \" ) and, beyond it, kept
 * valid UTF-8 with no control character: every control byte, DEL, C1
 * control, backslash and byte of an invalid UTF-8 sequence is written as
 * the text \xHH, the same escape /PID/stats uses. A process name is the
 * process's own choice (prctl PR_SET_NAME), so it must never break a
 * scrape or reach a terminal raw.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mergefs.h"

#define MB_LIT(b, s) mb_add((b), (s), sizeof(s) - 1)

int metrics_per_process = 1;

/* ---------------------------------------------------------------- host */

/* The files of /sys/kernel/mm/ksm that mergefs knows: metric name, type,
 * divisor to base units, and what it means. Others that read as numbers
 * get a generic entry (see ksm_family). */
struct ksm_metric {
	const char *file, *name, *type;
	int div;
	const char *help;
};

static const struct ksm_metric ksm_metrics[] = {
	{ "full_scans", "mergefs_ksm_full_scans_total", "counter", 1,
	  "Full passes of ksmd over all mergeable memory since boot." },
	{ "pages_scanned", "mergefs_ksm_pages_scanned_total", "counter", 1,
	  "Pages ksmd has scanned since boot." },
	{ "pages_skipped", "mergefs_ksm_pages_skipped_total", "counter", 1,
	  "Pages ksmd skipped since boot because they did not merge lately (smart_scan)." },
	{ "pages_shared", "mergefs_ksm_pages_shared", "gauge", 1,
	  "KSM pages in use, each standing for two or more identical pages." },
	{ "pages_sharing", "mergefs_ksm_pages_sharing", "gauge", 1,
	  "Further mappings of KSM pages: the pages KSM saves." },
	{ "pages_unshared", "mergefs_ksm_pages_unshared", "gauge", 1,
	  "Unique pages ksmd keeps checking in vain." },
	{ "pages_volatile", "mergefs_ksm_pages_volatile", "gauge", 1,
	  "Pages that change too fast to be merged." },
	{ "ksm_zero_pages", "mergefs_ksm_zero_pages", "gauge", 1,
	  "Empty pages merged with the kernel's zero page (use_zero_pages)." },
	{ "general_profit", "mergefs_ksm_general_profit_bytes", "gauge", 1,
	  "Memory KSM saves minus the memory its bookkeeping costs, as the kernel estimates it." },
	{ "stable_node_chains", "mergefs_ksm_stable_node_chains", "gauge", 1,
	  "KSM pages that reached max_page_sharing and were chained with duplicates." },
	{ "stable_node_dups", "mergefs_ksm_stable_node_dups", "gauge", 1,
	  "Duplicate KSM pages in such chains." },
	{ "run", "mergefs_ksm_run", "gauge", 1,
	  "ksmd state: 0 stopped, 1 merging, 2 unmerging everything." },
	{ "pages_to_scan", "mergefs_ksm_pages_to_scan", "gauge", 1,
	  "Pages ksmd scans per batch." },
	{ "sleep_millisecs", "mergefs_ksm_sleep_seconds", "gauge", 1000,
	  "Pause of ksmd between batches." },
	{ "max_page_sharing", "mergefs_ksm_max_page_sharing", "gauge", 1,
	  "Most mappings one KSM page may have." },
	{ "merge_across_nodes", "mergefs_ksm_merge_across_nodes", "gauge", 1,
	  "1 when pages of different NUMA nodes may merge." },
	{ "use_zero_pages", "mergefs_ksm_use_zero_pages", "gauge", 1,
	  "1 when empty pages are merged with the zero page." },
	{ "smart_scan", "mergefs_ksm_smart_scan", "gauge", 1,
	  "1 when ksmd skips pages that did not merge lately." },
	{ "stable_node_chains_prune_millisecs", "mergefs_ksm_stable_node_chains_prune_seconds",
	  "gauge", 1000, "Interval between prunes of stale stable-node chains." },
	{ "advisor_max_cpu", "mergefs_ksm_advisor_max_cpu_ratio", "gauge", 100,
	  "Share of one CPU the scan-time advisor lets ksmd use." },
	{ "advisor_min_pages_to_scan", "mergefs_ksm_advisor_min_pages_to_scan", "gauge", 1,
	  "Fewest pages per batch the scan-time advisor sets." },
	{ "advisor_max_pages_to_scan", "mergefs_ksm_advisor_max_pages_to_scan", "gauge", 1,
	  "Most pages per batch the scan-time advisor sets." },
	{ "advisor_target_scan_time", "mergefs_ksm_advisor_target_scan_time_seconds", "gauge", 1,
	  "Time the scan-time advisor aims at for one full scan." },
};

static void ksm_family(struct mbuf *b, const char *file, long long v)
{
	const struct ksm_metric *m = NULL;
	for (size_t i = 0; i < sizeof(ksm_metrics) / sizeof(ksm_metrics[0]); i++)
		if (!strcmp(ksm_metrics[i].file, file))
			m = &ksm_metrics[i];
	if (!m) {
		/* A file this mergefs does not know: a gauge under its own
		 * name (without a doubled ksm_), if the name is safe. */
		for (const char *p = file; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
				return;
		const char *base = strncmp(file, "ksm_", 4) ? file : file + 4;
		mb_printf(b, "# HELP mergefs_ksm_%s KSM figure %s of a newer kernel, as it reads.\n"
			  "# TYPE mergefs_ksm_%s gauge\nmergefs_ksm_%s %lld\n",
			  base, file, base, base, v);
		return;
	}
	mb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name, m->type);
	if (m->div == 1)
		mb_printf(b, "%s %lld\n", m->name, v);
	else
		mb_printf(b, "%s %.9g\n", m->name, (double)v / m->div);
}

static long long share_of(const struct pksm *k, long long shared, long long sharing)
{
	long long mapped = shared + sharing;
	double frac = mapped > 0 ? (double)sharing / (double)mapped : 0.0;
	return (long long)((double)k->merging_pages * frac * (double)page_size() + 0.5) +
	       k->zero_pages * page_size();
}

long long ksm_share_bytes(const struct pksm *k)
{
	char v[32];
	long long shared = 0, sharing = 0;
	if (ksmp_read_small(KSM_SYS "pages_shared", v, sizeof(v)) > 0)
		shared = strtoll(v, NULL, 10);
	if (ksmp_read_small(KSM_SYS "pages_sharing", v, sizeof(v)) > 0)
		sharing = strtoll(v, NULL, 10);
	return share_of(k, shared, sharing);
}

/* ---------------------------------------------------------------- labels */

static void label_value(struct mbuf *b, const char *str, size_t max)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strnlen(str, max);
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		size_t l = c >= 0x80 ? ksmp_utf8_text_len(s + i, n - i) : 0;
		if (c == '"') {
			MB_LIT(b, "\\\"");
			i++;
		} else if ((c >= 0x20 && c < 0x7f && c != '\\') || l) {
			l = l ? l : 1;
			mb_add(b, (const char *)s + i, l);
			i += l;
		} else {
			/* the text \xHH: its backslash doubled for the format */
			mb_printf(b, "\\\\x%02x", c);
			i++;
		}
	}
}

/* The process's cgroup (systemd's tree: the name=systemd hierarchy of
 * cgroup v1, else the unified one) and the unit in it. */
void proc_cgroup(pid_t pid, char *cg, size_t cgsz, char *unit, size_t usz)
{
	char path[64], buf[4096];
	cg[0] = unit[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	if (ksmp_read_small(path, buf, sizeof(buf)) < 0)
		return;
	for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		size_t len = strcspn(l, "\n");
		const char *p = NULL;
		if (!strncmp(l, "0::", 3))
			p = l + 3;
		else if (strstr(l, ":name=systemd:") && strstr(l, ":name=systemd:") < l + len)
			p = strstr(l, ":name=systemd:") + 14;
		if (!p)
			continue;
		if (cg[0] && !strncmp(l, "0::", 3))
			continue;	/* the systemd tree wins */
		snprintf(cg, cgsz, "%.*s", (int)(l + len - p), p);
	}
	/* the last component that is a service or scope */
	const char *s = cg, *best = NULL;
	size_t bestlen = 0;
	while (*s) {
		while (*s == '/')
			s++;
		size_t l = strcspn(s, "/");
		if ((l > 8 && !strncmp(s + l - 8, ".service", 8)) ||
		    (l > 6 && !strncmp(s + l - 6, ".scope", 6))) {
			best = s;
			bestlen = l;
		}
		s += l;
	}
	if (best)
		snprintf(unit, usz, "%.*s", (int)bestlen, best);
}

/* ---------------------------------------------------------------- rows */

static const struct {
	const char *name, *help;
} pmetrics[] = {
	{ "mergefs_process_merging_pages",
	  "Pages of the process mapped to KSM pages (ksm_merging_pages of ksm_stat)." },
	{ "mergefs_process_zero_pages",
	  "Pages of the process merged with the zero page (ksm_zero_pages of ksm_stat)." },
	{ "mergefs_process_rmap_items",
	  "KSM reverse-map items the process costs (ksm_rmap_items of ksm_stat)." },
	{ "mergefs_process_profit_bytes",
	  "Bytes KSM saves the process minus its rmap items, as the kernel counts it "
	  "(ksm_process_profit; every sharer counts a shared page in full)." },
	{ "mergefs_process_merged_bytes",
	  "Bytes of the process on KSM or zero pages: what unmerging it would need again "
	  "(every sharer counts a shared page in full)." },
	{ "mergefs_process_saved_bytes",
	  "The process's share of the host's saving: its merged pages times "
	  "pages_sharing/(pages_shared+pages_sharing), plus its zero pages; "
	  "sums to mergefs_saved_bytes over all processes." },
	{ "mergefs_process_advised_bytes",
	  "Bytes libksmpreload advised mergeable in the process (0 without the library)." },
	{ "mergefs_process_merge_state",
	  "1 when merging is on for the process, 0 when it was unmerged." },
};
#define NPM (sizeof(pmetrics) / sizeof(pmetrics[0]))

struct mrow {
	pid_t pid;
	int library;
	char comm[64], cgroup[256], unit[128];
	long long v[NPM];
};

struct mrows {
	struct mrow *rows;
	size_t n, cap;
	long library, ksm;
	uid_t reader;
	long long shared, sharing;
};

static int collect_pid(void *ctx, pid_t pid, const struct pksm *k, struct target *t)
{
	struct mrows *m = ctx;
	if (t)
		m->library++;
	if (pksm_active(k))
		m->ksm++;
	struct pstatus ps;
	if (proc_status(pid, &ps) < 0)
		return 0;
	if (m->reader != 0 && m->reader != ps.owner)
		return 0;	/* another user's process: nothing about it */
	if (ksmp_grow(&m->rows, &m->cap, m->n + 1, sizeof(*m->rows), 64) < 0)
		return -ENOMEM;
	struct mrow *r = &m->rows[m->n++];
	r->pid = pid;
	r->library = t != NULL;
	snprintf(r->comm, sizeof(r->comm), "%s", ps.name);
	proc_cgroup(pid, r->cgroup, sizeof(r->cgroup), r->unit, sizeof(r->unit));
	long long adv = 0;
	int merged = k->merge_any || k->mergeable;
	if (t) {
		uint64_t a = advised_bytes(t->st);
		adv = a > (uint64_t)LLONG_MAX ? LLONG_MAX : (long long)a;
		merged = __atomic_load_n(&t->st->merge_state, __ATOMIC_RELAXED) != 0;
	}
	long long v[NPM] = {
		k->merging_pages, k->zero_pages, k->rmap_items, k->process_profit,
		(k->merging_pages + k->zero_pages) * page_size(),
		share_of(k, m->shared, m->sharing), adv, merged,
	};
	memcpy(r->v, v, sizeof(v));
	return 0;
}

static void process_families(struct mbuf *b, const struct mrows *m)
{
	for (size_t j = 0; j < NPM; j++) {
		mb_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", pmetrics[j].name,
			  pmetrics[j].help, pmetrics[j].name);
		for (size_t i = 0; i < m->n; i++) {
			const struct mrow *r = &m->rows[i];
			mb_printf(b, "%s{pid=\"%d\",comm=\"", pmetrics[j].name, (int)r->pid);
			label_value(b, r->comm, sizeof(r->comm));
			MB_LIT(b, "\",cgroup=\"");
			label_value(b, r->cgroup, sizeof(r->cgroup));
			MB_LIT(b, "\",unit=\"");
			label_value(b, r->unit, sizeof(r->unit));
			mb_printf(b, "\"} %lld\n", r->v[j]);
		}
	}
}

/* ---------------------------------------------------------------- cgroups */

/* What the processes of one cgroup add up to (rows sorted by cgroup). */
struct cgsum {
	const struct mrow *first;
	long long procs, library, merged, saved;
};

static int by_cgroup(const void *a, const void *b)
{
	return strcmp(((const struct mrow *)a)->cgroup, ((const struct mrow *)b)->cgroup);
}

typedef void cg_fn(struct mbuf *b, const struct cgsum *g, size_t family);

/* Sort m's rows by cgroup and call fn once per cgroup with its sums. */
static void each_cgroup(struct mrows *m, cg_fn *fn, struct mbuf *b, size_t family)
{
	if (m->n)
		qsort(m->rows, m->n, sizeof(*m->rows), by_cgroup);
	for (size_t i = 0; i < m->n;) {
		struct cgsum g = { .first = &m->rows[i] };
		for (; i < m->n && !strcmp(m->rows[i].cgroup, g.first->cgroup); i++) {
			g.procs++;
			g.library += m->rows[i].library;
			g.merged += m->rows[i].v[4];	/* merged_bytes */
			g.saved += m->rows[i].v[5];	/* saved_bytes */
		}
		fn(b, &g, family);
	}
}

static void cg_labels(struct mbuf *b, const char *name, const struct cgsum *g)
{
	mb_printf(b, "%s{cgroup=\"", name);
	label_value(b, g->first->cgroup, sizeof(g->first->cgroup));
	MB_LIT(b, "\",unit=\"");
	label_value(b, g->first->unit, sizeof(g->first->unit));
	MB_LIT(b, "\"} ");
}

static const struct {
	const char *name, *help;
} cgmetrics[] = {
	{ "mergefs_cgroup_processes",
	  "Processes of the cgroup that mergefs lists (KSM activity or the library)." },
	{ "mergefs_cgroup_library_processes", "Processes running libksmpreload in the cgroup." },
	{ "mergefs_cgroup_merged_bytes",
	  "Sum of mergefs_process_merged_bytes over the cgroup's processes." },
	{ "mergefs_cgroup_saved_bytes",
	  "Sum of mergefs_process_saved_bytes over the cgroup's processes: the cgroup's "
	  "share of mergefs_saved_bytes." },
};

static void cg_metric(struct mbuf *b, const struct cgsum *g, size_t family)
{
	long long v[] = { g->procs, g->library, g->merged, g->saved };
	cg_labels(b, cgmetrics[family].name, g);
	mb_printf(b, "%lld\n", v[family]);
}

static void cg_line(struct mbuf *b, const struct cgsum *g, size_t family)
{
	(void)family;
	mb_printf(b, "%lld %lld %lld %lld ", g->saved, g->merged, g->procs, g->library);
	mb_str(b, g->first->unit, sizeof(g->first->unit), 1);
	MB_LIT(b, " ");
	mb_str(b, g->first->cgroup, sizeof(g->first->cgroup), 1);
	MB_LIT(b, "\n");
}

static void cgroup_families(struct mbuf *b, struct mrows *m)
{
	for (size_t f = 0; f < sizeof(cgmetrics) / sizeof(cgmetrics[0]); f++) {
		mb_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", cgmetrics[f].name,
			  cgmetrics[f].help, cgmetrics[f].name);
		each_cgroup(m, cg_metric, b, f);
	}
}

/* The rows of every process with KSM activity that the reader may see. */
static int collect(struct mrows *m)
{
	struct ksm_sys sys[64];
	int n = read_ksm_sys(sys, 64);
	m->shared = sys_val(sys, n, "pages_shared");
	m->sharing = sys_val(sys, n, "pages_sharing");
	return scan_ksm_pids(collect_pid, m, SCAN_TARGET);
}

/* The host file cgroups: one line per cgroup, sorted by its path. */
int render_cgroups(struct mbuf *b, const struct fctx *c)
{
	struct mrows m = { .reader = c->caller_uid };
	int r = collect(&m);
	each_cgroup(&m, cg_line, b, 0);
	free(m.rows);
	return r;
}

int render_metrics(struct mbuf *b, const struct fctx *c)
{
	mb_printf(b, "# HELP mergefs_build_info The mergefs serving these metrics (value 1).\n"
		  "# TYPE mergefs_build_info gauge\nmergefs_build_info{version=\"%s\"} 1\n",
		  PACKAGE_VERSION);
	struct ksm_sys sys[64];
	int n = read_ksm_sys(sys, 64);
	for (int i = 0; i < n; i++) {
		char *e;
		long long v = strtoll(sys[i].value, &e, 10);
		if (e != sys[i].value && !*e)
			ksm_family(b, sys[i].name, v);
	}
	struct mrows m = { .reader = c->caller_uid };
	m.shared = sys_val(sys, n, "pages_shared");
	m.sharing = sys_val(sys, n, "pages_sharing");
	long long zero = sys_val(sys, n, "ksm_zero_pages");
	mb_printf(b, "# HELP mergefs_saved_bytes Memory KSM saves on the host: "
		  "(pages_sharing + ksm_zero_pages) times the page size.\n"
		  "# TYPE mergefs_saved_bytes gauge\nmergefs_saved_bytes %lld\n",
		  (m.sharing + zero) * page_size());
	int r = scan_ksm_pids(collect_pid, &m, SCAN_TARGET);
	mb_printf(b, "# HELP mergefs_processes_ksm Processes with KSM activity.\n"
		  "# TYPE mergefs_processes_ksm gauge\nmergefs_processes_ksm %ld\n", m.ksm);
	mb_printf(b, "# HELP mergefs_processes_library Processes running libksmpreload.\n"
		  "# TYPE mergefs_processes_library gauge\nmergefs_processes_library %ld\n",
		  m.library);
	if (metrics_per_process)
		process_families(b, &m);
	cgroup_families(b, &m);
	free(m.rows);
	return r;
}
