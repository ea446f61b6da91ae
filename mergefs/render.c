/*
 * render.c - the contents of mergefs's files, built once at open (so a
 * read never blocks on the target and a process that exits mid-read still
 * gives a clean, complete file). All files are "key value" lines except
 * the regions tables and metrics (Prometheus text); see mergefs(8).
 *
 * Never read smaps except for regions_ksm, which exists to do so.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attach.h"
#include "mergefs.h"
#include "policy.h"

#define MB_LIT(b, s) mb_add((b), (s), sizeof(s) - 1)

/* Kind names from the policy library; the block's spare kind slots
 * (KSMP_STATE_KINDS > KSMP_KIND_COUNT) by number. */
static const char *kind_name(unsigned k)
{
	static const char *const slot[] = {
		"kind0", "kind1", "kind2", "kind3", "kind4", "kind5", "kind6", "kind7"
	};
	_Static_assert(sizeof(slot) / sizeof(slot[0]) == KSMP_STATE_KINDS,
		       "a name per state kind slot");
	if (k < KSMP_KIND_COUNT)
		return ksmp_kind_name((enum ksmp_kind)k);
	return k < KSMP_STATE_KINDS ? slot[k] : "unknown";
}

static const char *region_state_name(unsigned s)
{
	switch (s) {
	case KSMP_REGION_MERGEABLE: return "mergeable";
	case KSMP_REGION_UNMERGED: return "unmerged";
	case KSMP_REGION_FAILED: return "failed";
	case KSMP_REGION_PRUNED: return "pruned";
	default: return "unknown";
	}
}

/* ---------------------------------------------------------------- mbuf */

static int mb_reserve(struct mbuf *b, size_t n)
{
	if (b->oom)
		return -1;
	if (n > SIZE_MAX - b->len - 1 ||
	    ksmp_grow(&b->p, &b->cap, b->len + n + 1, 1, 1024) < 0) {
		b->oom = 1;
		return -1;
	}
	return 0;
}

void mb_add(struct mbuf *b, const char *s, size_t n)
{
	if (mb_reserve(b, n) < 0)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

void mb_printf(struct mbuf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		mb_add(b, small, (size_t)n);
		return;
	}
	if (mb_reserve(b, (size_t)n) < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void mb_free(struct mbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Bytes of the shared block that a reader's terminal or a line parser
 * must never see raw go out as \xHH: control bytes and DEL, bytes that
 * are not well-formed UTF-8 and the C1 controls, the backslash itself (so
 * the escape is unambiguous), and, in a field that is one column of a
 * line, the space. keep_nl lets newlines through (policy text). */
static void mb_escaped(struct mbuf *b, const char *s, size_t n, int space, int keep_nl)
{
	for (size_t i = 0; i < n; i++) {
		/* the bytes judged are the bytes written: s may be shared
		 * memory that its process changes under us */
		unsigned char t[4];
		size_t avail = n - i < sizeof(t) ? n - i : sizeof(t);
		memcpy(t, s + i, avail);
		unsigned char c = t[0];
		size_t u = ksmp_utf8_text_len(t, avail);
		if ((c < 0x20 && !(keep_nl && c == '\n')) || c == 0x7f || c == '\\' ||
		    (space && c == ' ') || u == 0) {
			mb_printf(b, "\\x%02x", c);
			continue;
		}
		mb_add(b, (const char *)t, u);
		i += u - 1;
	}
}

/* A string field of the shared block, which the target may leave
 * unterminated or change under us: bounded, one line, escaped ("-" when
 * empty). column: the field is one space-separated column of a line, so
 * spaces are escaped too. */
void mb_str(struct mbuf *b, const char *s, size_t max, int column)
{
	size_t n = strnlen(s, max);
	if (n == 0) {
		MB_LIT(b, "-");
		return;
	}
	mb_escaped(b, s, n, column, 0);
}

static void mb_field(struct mbuf *b, const char *s, size_t max)
{
	mb_str(b, s, max, 0);
}

long page_size(void)
{
	static long pg;
	if (!pg)
		pg = sysconf(_SC_PAGESIZE);
	return pg;
}

static uint64_t ld64(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static uint32_t ld32(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* Sums of the block's counters: they are the target's own words, so the
 * sums saturate instead of wrapping (or overflowing a signed metric). */
static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

uint64_t advised_bytes(const struct ksmp_state *st)
{
	uint64_t total = 0;
	for (int i = 0; i < KSMP_STATE_KINDS; i++)
		total = sat_add(total, ld64(&st->kind[i].bytes));
	return total;
}

/* ---------------------------------------------------------------- host */

static int cmp_sys(const void *a, const void *b)
{
	return strcmp(((const struct ksm_sys *)a)->name, ((const struct ksm_sys *)b)->name);
}

/* Every file of /sys/kernel/mm/ksm, sorted; returns the count. */
int read_ksm_sys(struct ksm_sys *out, int max)
{
	DIR *d = opendir(KSM_SYS);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *de;
	while (n < max && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char path[sizeof(KSM_SYS) + 64];
		if (strlen(de->d_name) >= sizeof(out[n].name))
			continue;
		snprintf(path, sizeof(path), KSM_SYS "%.63s", de->d_name);
		char buf[64];
		if (ksmp_read_small(path, buf, sizeof(buf)) < 0)
			continue;
		buf[strcspn(buf, "\n")] = 0;
		snprintf(out[n].name, sizeof(out[n].name), "%.63s", de->d_name);
		snprintf(out[n].value, sizeof(out[n].value), "%s", buf);
		n++;
	}
	closedir(d);
	qsort(out, (size_t)n, sizeof(*out), cmp_sys);
	return n;
}

long long sys_val(const struct ksm_sys *s, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(s[i].name, name))
			return strtoll(s[i].value, NULL, 10);
	return 0;
}

struct counts {
	long library, ksm;
};

static int count_pid(void *ctx, pid_t pid, const struct pksm *k, struct target *t)
{
	(void)pid;
	struct counts *c = ctx;
	if (t)
		c->library++;
	if (pksm_active(k))
		c->ksm++;
	return 0;
}

int render_host_stats(struct mbuf *b, const struct fctx *c)
{
	(void)c;
	struct ksm_sys sys[64];
	int n = read_ksm_sys(sys, 64);
	for (int i = 0; i < n; i++)
		mb_printf(b, "%s %s\n", sys[i].name, sys[i].value);
	long long shared = sys_val(sys, n, "pages_shared");
	long long sharing = sys_val(sys, n, "pages_sharing");
	long long unshared = sys_val(sys, n, "pages_unshared");
	long long zero = sys_val(sys, n, "ksm_zero_pages");
	mb_printf(b, "saved_bytes %lld\n", (sharing + zero) * page_size());
	mb_printf(b, "sharing_ratio %.3f\n", shared ? (double)sharing / (double)shared : 0.0);
	mb_printf(b, "wasted_effort_ratio %.3f\n", sharing ? (double)unshared / (double)sharing : 0.0);
	struct counts cnt = { 0, 0 };
	scan_ksm_pids(count_pid, &cnt, SCAN_PEEK);
	mb_printf(b, "processes_ksm %ld\n", cnt.ksm);
	mb_printf(b, "processes_library %ld\n", cnt.library);
	struct auto_totals at;
	auto_get_totals(&at);
	mb_printf(b, "auto_cycles %llu\nauto_chunks_measured %llu\n"
		  "auto_prunes %llu\nauto_probes %llu\n",
		  (unsigned long long)at.cycles,
		  (unsigned long long)at.chunks_measured,
		  (unsigned long long)at.prunes, (unsigned long long)at.probes);
	return 0;
}

/* ---------------------------------------------------------------- per pid */

const char *steer_reason(const struct target *t)
{
	if (!t)
		return "library not loaded: merge takes 1 and 0 by ptrace (ksmpreload attach, detach); "
			"the other files are read-only";
	uint32_t flags = ld32(&t->st->flags);
	if (!(flags & KSMP_STF_CONTROL) || t->st->signo <= 0)
		return "control agent not running (disabled by the policy, or no free signal)";
	if (steer_check(t) < 0)
		return "the agent would reject mergefs: its user namespace maps mergefs's uid to "
		       "a user other than root or the process's own, or the library is too old to "
		       "take a sender from outside the namespace";
	return NULL;
}

static void flags_str(struct mbuf *b, uint32_t f)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = {
		{ KSMP_STF_PROCESS_FALLBACK, "process_fallback" },
		{ KSMP_STF_POLICY_ERROR, "policy_error" },
		{ KSMP_STF_CONTROL, "control" },
		{ KSMP_STF_UNMERGED, "unmerged" },
		{ KSMP_STF_TABLE_FULL, "table_full" },
		{ KSMP_STF_HOOKS_BYPASSED, "hooks_bypassed" },
		{ KSMP_STF_PROCESS_INHERITED, "process_inherited" },
	};
	int any = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (f & names[i].bit) {
			mb_printf(b, "%s%s", any ? "," : "", names[i].name);
			any = 1;
		}
	}
	if (!any)
		MB_LIT(b, "none");
}

/* For a process without the library: the engine when an attach record
 * (cli/attach/record.c) says it was attached, and the last write to its
 * merge file (attach.c). */
static void attach_render(struct mbuf *b, const struct fctx *c)
{
	struct attach_record r;
	uint64_t start;
	if (ksmp_proc_starttime(c->pid, &start) < 0)
		return;
	if (attach_record_load(c->pid, &r) == 0) {
		if (r.start == start && ((r.process && c->k.merge_any) || r.nranges))
			mb_printf(b, "engine attached\nmode %s\n",
				  r.process && c->k.merge_any ? "process" : "regions");
		attach_record_free(&r);
	}
	int on, err;
	char msg[240];
	if (attach_last(c->pid, start, &on, &err, msg, sizeof(msg)) < 0)
		return;
	const char *name = err ? strerrorname_np(err) : NULL;
	mb_printf(b, "attach_last %s %s\nattach_message ", on ? "attach" : "detach",
		  err ? name ? name : "error" : "ok");
	mb_field(b, msg, sizeof(msg));
	MB_LIT(b, "\n");
}

int render_stats(struct mbuf *b, const struct fctx *c)
{
	pid_t pid = c->pid;
	const struct target *t = c->t;
	const struct pksm *k = &c->k;
	struct pstatus ps;
	if (proc_status(pid, &ps) < 0)
		memset(&ps, 0, sizeof(ps));
	const char *why = steer_reason(t);
	mb_printf(b, "pid %d\nname ", (int)pid);
	mb_field(b, ps.name, sizeof(ps.name));	/* a comm may hold a newline */
	mb_printf(b, "\nuid %u\nowner %u\nlibrary %d\nsteerable %d\nreason %s\n",
		  (unsigned)ps.uid, (unsigned)ps.owner, t != NULL,
		  why == NULL, why ? why : "-");
	char cg[256], unit[128];
	proc_cgroup(pid, cg, sizeof(cg), unit, sizeof(unit));
	MB_LIT(b, "cgroup ");
	mb_str(b, cg, sizeof(cg), 0);
	MB_LIT(b, "\nunit ");
	mb_str(b, unit, sizeof(unit), 0);
	mb_printf(b, "\nnspid %d\n", (int)ps.nspid);
	if (t) {
		const struct ksmp_state *st = t->st;
		mb_printf(b, "engine %s\nmode %s\npolicy ", ksmp_engine_name(ld32(&st->engine)),
			  ksmp_mode_name((enum ksmp_mode)ld32(&st->mode)));
		mb_field(b, st->policy_name, sizeof(st->policy_name));
		MB_LIT(b, "\npolicy_source ");
		mb_field(b, st->policy_source, sizeof(st->policy_source));
		MB_LIT(b, "\nexe ");
		char exe[sizeof(st->exe)];
		memcpy(exe, st->exe, sizeof(exe));
		exe[sizeof(exe) - 1] = '\0';
		if (!exe[0]) {
			/* not recorded yet: the library reads it when it first
			 * needs it; the kernel's word meanwhile */
			char path[64];
			snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
			ssize_t n = readlink(path, exe, sizeof(exe) - 1);
			exe[n > 0 ? n : 0] = '\0';
		}
		mb_field(b, exe, sizeof(exe));
		mb_printf(b, "\nmerge_state %u\nflags ", ld32(&st->merge_state));
		flags_str(b, ld32(&st->flags));
		uint64_t total = advised_bytes(st), nreg = 0;
		for (int i = 0; i < KSMP_STATE_KINDS; i++)
			nreg = sat_add(nreg, ld64(&st->kind[i].regions));
		mb_printf(b, "\ncontrol_signal %d\ncommands %llu\ncommands_rejected %llu\n"
			  "regions %llu\nadvised_bytes %llu\n", st->signo,
			  (unsigned long long)ld64(&st->ctl.commands),
			  (unsigned long long)ld64(&st->ctl.rejected),
			  (unsigned long long)nreg, (unsigned long long)total);
		for (int i = 0; i < KSMP_KIND_COUNT; i++)
			mb_printf(b, "%s_regions %llu\n%s_bytes %llu\n", kind_name((unsigned)i),
				  (unsigned long long)ld64(&st->kind[i].regions), kind_name((unsigned)i),
				  (unsigned long long)ld64(&st->kind[i].bytes));
		static const char *const errs[KSMP_ERR_SLOTS] = {
			"einval", "enomem", "eagain", "eperm", "other"
		};
		mb_printf(b, "madvise_calls %llu\n", (unsigned long long)ld64(&st->madvise_calls));
		for (int i = 0; i < KSMP_ERR_SLOTS; i++)
			mb_printf(b, "madvise_errors_%s %llu\n", errs[i],
				  (unsigned long long)ld64(&st->madvise_errors[i]));
		mb_printf(b, "regions_dropped %llu\nvmas_added %llu\n",
			  (unsigned long long)ld64(&st->regions_dropped),
			  (unsigned long long)ld64(&st->vmas_added));
		struct auto_proc ap;
		if (auto_get_proc(pid, t->starttime, &ap) == 0)
			mb_printf(b, "auto_prunes %llu\nauto_probes %llu\n"
				  "auto_chunk_changes_max %u\nauto_followed_seconds %llu\n"
				  "auto_chunks_measured %llu\n",
				  (unsigned long long)ap.prunes, (unsigned long long)ap.probes,
				  ap.max_changes, (unsigned long long)(ap.followed_ms / 1000),
				  (unsigned long long)ap.measured);
	}
	if (!t)
		attach_render(b, c);
	mb_printf(b, "ksm_rmap_items %lld\nksm_zero_pages %lld\nksm_merging_pages %lld\n"
		  "ksm_process_profit %lld\nksm_merge_any %d\nksm_mergeable %d\n"
		  "merged_bytes %lld\nsaved_bytes %lld\n",
		  k->rmap_items, k->zero_pages, k->merging_pages, k->process_profit,
		  k->merge_any, k->mergeable, (k->merging_pages + k->zero_pages) * page_size(),
		  ksm_share_bytes(k));
	unmerge_render(b, c);
	return 0;
}

int render_merge(struct mbuf *b, const struct fctx *c)
{
	mb_printf(b, "%d\n", c->t ? ld32(&c->t->st->merge_state) != 0 :
		  (c->k.merge_any || c->k.mergeable));
	return 0;
}

int render_regions(struct mbuf *b, const struct fctx *c)
{
	const struct target *t = c->t;
	MB_LIT(b, "# start-end kind rule caller bytes state\n");
	if (!t) {
		MB_LIT(b, "# library not loaded: no regions recorded (see regions_ksm)\n");
		return 0;
	}
	uint32_t n = ksmp_state_slots(t->st);
	for (uint32_t i = 0; i < n; i++) {
		struct ksmp_region r;
		if (ksmp_region_read(&t->st->regions[i], &r) < 0)
			continue;
		mb_printf(b, "%#llx-%#llx %s %d ", (unsigned long long)r.start,
			  (unsigned long long)(r.start + r.len), kind_name(r.kind), r.rule);
		mb_str(b, r.caller, sizeof(r.caller), 1);
		mb_printf(b, " %llu %s\n", (unsigned long long)r.len, region_state_name(r.state));
	}
	return 0;
}

/* Which recorded region holds [s, e)? Its kind name, or "-". */
static const char *owner_of(const struct target *t, uint64_t s, uint64_t e)
{
	if (!t)
		return "-";
	uint32_t n = ksmp_state_slots(t->st);
	for (uint32_t i = 0; i < n; i++) {
		struct ksmp_region r;
		if (ksmp_region_read(&t->st->regions[i], &r) < 0)
			continue;
		if (r.start <= s && e <= r.start + r.len)
			return kind_name(r.kind);
	}
	return "-";
}

/* Per-mapping KSM figures from smaps: only here, because reading smaps
 * stalls the target. */
int render_regions_ksm(struct mbuf *b, const struct fctx *c)
{
	const struct target *t = c->t;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)c->pid);
	FILE *f = fopen(path, "re");
	MB_LIT(b, "# start-end size_kb ksm_kb mg region\n");
	if (!f)
		return 0;
	char line[512];
	unsigned long long s = 0, e = 0, size = 0, ksm = 0;
	int in = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, z;
		char ch;
		if (sscanf(line, "%llx-%llx %c", &a, &z, &ch) == 3 && strchr(line, '-') &&
		    line[strcspn(line, "-")] == '-' && line[0] != 'V') {
			s = a;
			e = z;
			size = ksm = 0;
			in = 1;
		} else if (in && !strncmp(line, "Size:", 5)) {
			size = strtoull(line + 5, NULL, 10);
		} else if (in && !strncmp(line, "KSM:", 4)) {
			ksm = strtoull(line + 4, NULL, 10);
		} else if (in && !strncmp(line, "VmFlags:", 8)) {
			int mg = strstr(line, " mg") != NULL;
			if (mg || ksm)
				mb_printf(b, "%#llx-%#llx %llu %llu %d %s\n", s, e, size, ksm, mg,
					  owner_of(t, s, e));
			in = 0;
		}
	}
	fclose(f);
	return 0;
}

int render_policy(struct mbuf *b, const struct fctx *c)
{
	const struct target *t = c->t;
	if (!t) {
		MB_LIT(b, "name -\nsource -\n");
		return 0;
	}
	const struct ksmp_state *st = t->st;
	MB_LIT(b, "name ");
	mb_field(b, st->policy_name, sizeof(st->policy_name));
	MB_LIT(b, "\nsource ");
	mb_field(b, st->policy_source, sizeof(st->policy_source));
	MB_LIT(b, "\n\n");
	uint32_t len = ld32(&st->policy_text_len);
	if (len > KSMP_STATE_POLICY_TEXT)
		len = KSMP_STATE_POLICY_TEXT;
	size_t n = strnlen(st->policy_text, len);
	mb_escaped(b, st->policy_text, n, 0, 1);
	if (n && st->policy_text[n - 1] != '\n')
		MB_LIT(b, "\n");
	return 0;
}

int render_knob(struct mbuf *b, const struct fctx *c)
{
	char p[128], v[256];
	knob_path(c->knob, p, sizeof(p));
	ssize_t n = ksmp_read_small(p, v, sizeof(v));
	if (n < 0)
		return (int)n;
	mb_add(b, v, (size_t)n);
	return 0;
}
