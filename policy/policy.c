/*
 * policy.c - the policy file parser: text in, flat compiled policy out.
 *
 * The parser is forgiving: every bad line is reported as file:line and
 * left out, and parsing goes on, so one run shows every problem. It never
 * allocates and never reads outside [text, text + len): the preload
 * library calls it from its constructor, before malloc may be used.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "ksmp_state.h"
#include "policy-int.h"

/* ---------------------------------------------------------------- parser */

bool pp_tok_is(struct tok t, const char *w)
{
	size_t n = strlen(w);
	return t.n == n && memcmp(t.s, w, n) == 0;
}

bool pp_next_tok(struct parse *ps, struct tok *t)
{
	const char *c = ps->cur;
	while (c < ps->end && (*c == ' ' || *c == '\t'))
		c++;
	if (c == ps->end || *c == '#') {	/* '#' after blanks: comment */
		ps->cur = ps->end;
		return false;
	}
	t->s = c;
	while (c < ps->end && *c != ' ' && *c != '\t')
		c++;
	t->n = (size_t)(c - t->s);
	ps->cur = c;
	return true;
}

/* Append a token to a message, quoted and shortened if long. */
static void sb_tok(struct ksmp_sb *sb, struct tok t)
{
	ksmp_sb_putc(sb, '\'');
	if (t.n > 48) {
		ksmp_sb_putn(sb, t.s, 45);
		ksmp_sb_puts(sb, "...");
	} else {
		ksmp_sb_putn(sb, t.s, t.n);
	}
	ksmp_sb_putc(sb, '\'');
}

void pp_report(struct parse *ps, const char *msg)
{
	if (ps->stopped)
		return;
	ps->problems++;
	if (ps->problems > KSMP_POLICY_MAX_PROBLEMS) {
		ps->stopped = true;
		msg = "too many problems, giving up on this file";
	}
	if (ps->diag)
		ps->diag(ps->ctx, ps->file, ps->line, msg);
}

/* Report: A 'tok' B  (a, b may be NULL). */
void pp_report3(struct parse *ps, const char *a, const struct tok *t,
		    const char *b)
{
	char msg[256];
	struct ksmp_sb sb;
	ksmp_sb_init(&sb, msg, sizeof msg);
	if (a)
		ksmp_sb_puts(&sb, a);
	if (t)
		sb_tok(&sb, *t);
	if (b)
		ksmp_sb_puts(&sb, b);
	pp_report(ps, msg);
}

static void report_dup(struct parse *ps, const char *what, unsigned first)
{
	char msg[128];
	struct ksmp_sb sb;
	ksmp_sb_init(&sb, msg, sizeof msg);
	ksmp_sb_puts(&sb, what);
	ksmp_sb_puts(&sb, " (first given on line ");
	ksmp_sb_putu(&sb, first);
	ksmp_sb_puts(&sb, ")");
	pp_report(ps, msg);
}

/* Store a string in the pool, NUL-terminated. Returns false when full. */
bool pp_pool_add(struct ksmp_policy *p, struct tok t, struct ksmp_str *out)
{
	if (t.n >= KSMP_POLICY_STRPOOL ||
	    p->pool_used + t.n + 1 > KSMP_POLICY_STRPOOL)
		return false;
	out->off = p->pool_used;
	out->len = (uint16_t)t.n;
	memcpy(p->pool + p->pool_used, t.s, t.n);
	p->pool[p->pool_used + t.n] = '\0';
	p->pool_used = (uint16_t)(p->pool_used + t.n + 1);
	return true;
}

/* A setting that may appear once: true if this is the first time. */
static bool once(struct parse *ps, int which, const char *kw)
{
	if (ps->first[which]) {
		char what[64];
		struct ksmp_sb sb;
		ksmp_sb_init(&sb, what, sizeof what);
		if (which == S_PROGRAM) {
			ksmp_sb_puts(&sb, "duplicate program line");
		} else {
			ksmp_sb_puts(&sb, "duplicate '");
			ksmp_sb_puts(&sb, kw);
			ksmp_sb_puts(&sb, "' setting");
		}
		report_dup(ps, what, ps->first[which]);
		return false;
	}
	ps->first[which] = ps->line;
	return true;
}

/* Exactly one value after the keyword; reports and returns false if not. */
static bool one_value(struct parse *ps, struct tok kw, struct tok *v,
		      const char *hint)
{
	char msg[200];
	struct ksmp_sb sb;

	if (!pp_next_tok(ps, v)) {
		ksmp_sb_init(&sb, msg, sizeof msg);
		sb_tok(&sb, kw);
		ksmp_sb_puts(&sb, " needs a value (");
		ksmp_sb_puts(&sb, hint);
		ksmp_sb_puts(&sb, ")");
		pp_report(ps, msg);
		return false;
	}
	struct tok extra;
	if (pp_next_tok(ps, &extra)) {
		ksmp_sb_init(&sb, msg, sizeof msg);
		sb_tok(&sb, kw);
		ksmp_sb_puts(&sb, " takes one value; extra argument ");
		sb_tok(&sb, extra);
		pp_report(ps, msg);
		return false;
	}
	return true;
}

int pp_word_index(struct tok t, const char *const *words, int n)
{
	for (int i = 0; i < n; i++)
		if (words[i] && pp_tok_is(t, words[i]))
			return i;
	return -1;
}

static void kw_name(struct parse *ps, struct tok kw)
{
	struct tok v;
	if (!one_value(ps, kw, &v, "a word"))
		return;
	if (!once(ps, S_NAME, "name"))
		return;
	if (v.n >= KSMP_POLICY_NAME_MAX) {
		pp_report3(ps, "name ", &v, " is too long (at most 63 bytes)");
		return;
	}
	/* Zero the tail too: compiled policies are compared with memcmp. */
	memset(ps->p->name, 0, sizeof ps->p->name);
	memcpy(ps->p->name, v.s, v.n);
}

/* Is t a valid glob? If not, report "WHAT'glob': why" and say no. */
bool pp_glob_ok(struct parse *ps, const char *what, struct tok t)
{
	const char *why = ksmp_glob_check(t.s, t.n);
	if (!why)
		return true;
	char msg[200];
	struct ksmp_sb sb;
	ksmp_sb_init(&sb, msg, sizeof msg);
	ksmp_sb_puts(&sb, what);
	sb_tok(&sb, t);
	ksmp_sb_puts(&sb, ": ");
	ksmp_sb_puts(&sb, why);
	pp_report(ps, msg);
	return false;
}

static void kw_program(struct parse *ps, struct tok kw)
{
	struct ksmp_policy *p = ps->p;
	struct ksmp_str globs[KSMP_POLICY_MAX_PROGRAMS];
	unsigned n = 0, pool_mark = p->pool_used;
	bool bad = false, dup = !once(ps, S_PROGRAM, "program");
	struct tok t;

	while (pp_next_tok(ps, &t)) {
		if (!pp_glob_ok(ps, "bad glob ", t)) {
			bad = true;
			continue;
		}
		if (n == KSMP_POLICY_MAX_PROGRAMS) {
			if (!bad)
				pp_report(ps, "too many program globs (at most 16)");
			bad = true;
			continue;
		}
		if (!dup && !bad && !pp_pool_add(p, t, &globs[n])) {
			pp_report(ps, "too many globs: all globs together must fit in 4096 bytes");
			bad = true;
			continue;
		}
		n++;
	}
	if (n == 0 && !bad) {
		pp_report3(ps, NULL, &kw, " needs at least one glob");
		bad = true;
	}
	if (dup || bad) {
		p->pool_used = (uint16_t)pool_mark;
		return;
	}
	memcpy(p->programs, globs, n * sizeof *globs);
	p->nprograms = (uint8_t)n;
}

static void kw_mode(struct parse *ps, struct tok kw)
{
	struct tok v;
	if (!one_value(ps, kw, &v, "process, regions, auto or off"))
		return;
	int m = pp_word_index(v, ksmp_mode_names, KSMP_MODE_COUNT);
	if (m < 0) {
		pp_report3(ps, "unknown mode ", &v, " (process, regions, auto or off)");
		return;
	}
	if (once(ps, S_MODE, "mode"))
		ps->p->mode = (uint8_t)m;
}

/* "inherited-merge keep|off": whole-process merging that the program
 * inherited (systemd's MemoryKSM=yes, a parent's prctl) is kept unless a
 * policy says off. */
static void kw_inherited(struct parse *ps, struct tok kw)
{
	static const char *const words[] = { "keep", "off" };
	struct tok v;
	if (!one_value(ps, kw, &v, "keep or off"))
		return;
	int w = pp_word_index(v, words, 2);
	if (w < 0) {
		pp_report3(ps, "inherited-merge must be keep or off, not ", &v, "");
		return;
	}
	if (once(ps, S_INHERITED, "inherited-merge"))
		ps->p->inherited_off = (uint8_t)w;
}

static void kw_log(struct parse *ps, struct tok kw)
{
	struct tok v;
	if (!one_value(ps, kw, &v, "none, error, info or debug"))
		return;
	int l = pp_word_index(v, ksmp_log_names, KSMP_LOG_COUNT);
	if (l < 0) {
		pp_report3(ps, "unknown log level ", &v,
			" (none, error, info or debug)");
		return;
	}
	if (once(ps, S_LOG, "log"))
		ps->p->loglevel = (uint8_t)l;
}

static void kw_bool(struct parse *ps, struct tok kw, int which, uint8_t *dst)
{
	struct tok v;
	if (!one_value(ps, kw, &v, "yes or no"))
		return;
	int b;
	if (pp_tok_is(v, "yes"))
		b = 1;
	else if (pp_tok_is(v, "no"))
		b = 0;
	else {
		char msg[200];
		struct ksmp_sb sb;
		ksmp_sb_init(&sb, msg, sizeof msg);
		sb_tok(&sb, kw);
		ksmp_sb_puts(&sb, " must be yes or no, not ");
		sb_tok(&sb, v);
		pp_report(ps, msg);
		return;
	}
	if (once(ps, which, which == S_STRICT ? "strict" : which == S_CONTROL ? "control" :
		 "secure-exec"))
		*dst = (uint8_t)b;
}

/* Parse a size value; reports and returns false if bad. */
bool pp_size_value(struct parse *ps, const char *what, struct tok v,
		       uint64_t *out)
{
	int r = ksmp_parse_size(v.s, v.n, out);
	if (r == 0)
		return true;
	char msg[200];
	struct ksmp_sb sb;
	ksmp_sb_init(&sb, msg, sizeof msg);
	ksmp_sb_puts(&sb, r == -ERANGE ? "size " : "bad size ");
	sb_tok(&sb, v);
	ksmp_sb_puts(&sb, " for ");
	ksmp_sb_puts(&sb, what);
	ksmp_sb_puts(&sb, r == -ERANGE ? ": too large" :
		     " (digits with an optional K, M or G suffix)");
	pp_report(ps, msg);
	return false;
}

static void kw_heapstep(struct parse *ps, struct tok kw)
{
	struct tok v;
	uint64_t sz;
	if (!one_value(ps, kw, &v, "a size such as 4M"))
		return;
	if (!pp_size_value(ps, "heap-step", v, &sz))
		return;
	if (sz < KSMP_HEAP_STEP_MIN || sz > KSMP_HEAP_STEP_MAX) {
		pp_report3(ps, "heap-step ", &v, " out of range (64K to 1G)");
		return;
	}
	if (once(ps, S_HEAPSTEP, "heap-step"))
		ps->p->heap_step = sz;
}

/* auto-chunk SIZE (a power of two), auto-vmas N, auto-reprobe SECONDS. */
static void kw_auto(struct parse *ps, struct tok kw, int which)
{
	static const struct { const char *name, *what; uint64_t lo, hi; } a[] = {
		{ "auto-chunk", "a power of two from 64K to 1G",
		  KSMP_AUTO_CHUNK_MIN, KSMP_AUTO_CHUNK_MAX },
		{ "auto-vmas", "a number from 0 to 4096", 0, KSMP_AUTO_VMAS_MAX },
		{ "auto-reprobe", "seconds from 1 to 86400", 1, KSMP_AUTO_REPROBE_MAX },
	};
	int i = which - S_AUTOCHUNK;
	struct tok v;
	uint64_t n;
	if (!one_value(ps, kw, &v, a[i].what))
		return;
	if (which == S_AUTOCHUNK ? !pp_size_value(ps, a[i].name, v, &n) :
	    ksmp_parse_size(v.s, v.n, &n) != 0 || v.s[v.n - 1] < '0' ||
	    v.s[v.n - 1] > '9')
		n = UINT64_MAX;
	if (n < a[i].lo || n > a[i].hi ||
	    (which == S_AUTOCHUNK && (n & (n - 1)))) {
		char msg[200];
		struct ksmp_sb sb;
		ksmp_sb_init(&sb, msg, sizeof msg);
		ksmp_sb_puts(&sb, a[i].name);
		ksmp_sb_puts(&sb, " must be ");
		ksmp_sb_puts(&sb, a[i].what);
		ksmp_sb_puts(&sb, ", not ");
		sb_tok(&sb, v);
		pp_report(ps, msg);
		return;
	}
	if (!once(ps, which, a[i].name))
		return;
	if (which == S_AUTOCHUNK)
		ps->p->auto_chunk = n;
	else if (which == S_AUTOVMAS)
		ps->p->auto_vmas = (uint32_t)n;
	else
		ps->p->auto_reprobe = (uint32_t)n;
}

/* Check that a line is text: no NUL or control bytes, valid UTF-8. */
static bool line_is_text(struct parse *ps, const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned c = s[i];
		if (c == '\t' || (c >= 0x20 && c < 0x7f))
			continue;
		if (c < 0x80) {
			char msg[80];
			struct ksmp_sb sb;
			static const char hex[] = "0123456789abcdef";
			ksmp_sb_init(&sb, msg, sizeof msg);
			ksmp_sb_puts(&sb, c == 0 ? "binary data (NUL byte" :
				     "binary data (control byte 0x");
			if (c) {
				ksmp_sb_putc(&sb, hex[c >> 4]);
				ksmp_sb_putc(&sb, hex[c & 15]);
			}
			ksmp_sb_puts(&sb, " in column ");
			ksmp_sb_putu(&sb, i + 1);
			ksmp_sb_puts(&sb, "); not a policy file?");
			pp_report(ps, msg);
			return false;
		}
		/* UTF-8: lead byte, then continuation bytes; no overlongs,
		 * surrogates or values above U+10FFFF. */
		size_t need;
		uint32_t cp;
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1; cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2; cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3; cp = c & 0x07;
		} else {
			goto bad_utf8;
		}
		if (n - i - 1 < need)
			goto bad_utf8;
		for (size_t k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				goto bad_utf8;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			goto bad_utf8;
		i += need;
		continue;
bad_utf8:
		{
			char msg[80];
			struct ksmp_sb sb;
			ksmp_sb_init(&sb, msg, sizeof msg);
			ksmp_sb_puts(&sb, "binary data (invalid UTF-8 in column ");
			ksmp_sb_putu(&sb, i + 1);
			ksmp_sb_puts(&sb, "); not a policy file?");
			pp_report(ps, msg);
			return false;
		}
	}
	return true;
}

static void parse_line(struct parse *ps, const char *s, size_t n)
{
	struct tok kw;

	ps->cur = s;
	ps->end = s + n;
	if (!pp_next_tok(ps, &kw))
		return;		/* blank or comment */
	if (ps->programs_only && !pp_tok_is(kw, "program"))
		return;
	if (pp_tok_is(kw, "merge"))
		pp_kw_rule(ps, kw, KSMP_ACT_MERGE);
	else if (pp_tok_is(kw, "skip"))
		pp_kw_rule(ps, kw, KSMP_ACT_SKIP);
	else if (pp_tok_is(kw, "program"))
		kw_program(ps, kw);
	else if (pp_tok_is(kw, "mode"))
		kw_mode(ps, kw);
	else if (pp_tok_is(kw, "name"))
		kw_name(ps, kw);
	else if (pp_tok_is(kw, "log"))
		kw_log(ps, kw);
	else if (pp_tok_is(kw, "strict"))
		kw_bool(ps, kw, S_STRICT, &ps->p->strict);
	else if (pp_tok_is(kw, "control"))
		kw_bool(ps, kw, S_CONTROL, &ps->p->control);
	else if (pp_tok_is(kw, "secure-exec"))
		kw_bool(ps, kw, S_SECUREEXEC, &ps->p->secure_exec);
	else if (pp_tok_is(kw, "heap-step"))
		kw_heapstep(ps, kw);
	else if (pp_tok_is(kw, "inherited-merge"))
		kw_inherited(ps, kw);
	else if (pp_tok_is(kw, "auto-chunk"))
		kw_auto(ps, kw, S_AUTOCHUNK);
	else if (pp_tok_is(kw, "auto-vmas"))
		kw_auto(ps, kw, S_AUTOVMAS);
	else if (pp_tok_is(kw, "auto-reprobe"))
		kw_auto(ps, kw, S_AUTOREPROBE);
	else
		pp_report3(ps, "unknown keyword ", &kw, " (name, program, mode, log, "
			"strict, control, secure-exec, heap-step, inherited-merge, "
			"auto-chunk, auto-vmas, auto-reprobe, merge, skip)");
}

/* Copy at most cap-1 bytes of s, NUL-terminated. */
static void copy_str(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* Name from a file name: basename without ".policy", blanks made '_'. */
static void name_from_file(struct ksmp_policy *p, const char *file)
{
	const char *b = ksmp_basename(file);
	size_t n = strlen(b);
	if (n > 7 && memcmp(b + n - 7, ".policy", 7) == 0)
		n -= 7;
	copy_str(p->name, sizeof p->name, b, n);
	for (char *c = p->name; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == '#' || *c == 0x7f)
			*c = '_';
	if (!p->name[0])
		copy_str(p->name, sizeof p->name, "unnamed", 7);
}

/* An empty policy with the defaults of a policy file. */
static void policy_reset(struct ksmp_policy *p, const char *source)
{
	memset(p, 0, sizeof *p);
	p->mode = KSMP_DEFAULT_MODE;
	p->loglevel = KSMP_DEFAULT_LOG;
	p->strict = 0;
	p->control = 1;
	p->heap_step = KSMP_DEFAULT_HEAP_STEP;
	p->auto_chunk = KSMP_DEFAULT_AUTO_CHUNK;
	p->auto_vmas = KSMP_DEFAULT_AUTO_VMAS;
	p->auto_reprobe = KSMP_DEFAULT_AUTO_REPROBE;
	copy_str(p->source, sizeof p->source, source, strlen(source));
	name_from_file(p, source);
}

static void add_auto_rules(struct parse *ps)
{
	const char *s = ksmp_auto_rules_text;
	ps->line = 0;		/* built in: no line of the file */
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		parse_line(ps, s, n);
		s += n + (nl ? 1 : 0);
	}
}

static int parse_text(struct ksmp_policy *p, const char *name,
		      const char *text, size_t len, bool programs_only,
		      ksmp_diag_fn diag, void *ctx)
{
	struct parse ps;
	size_t pos = 0;

	if (!name)
		name = "(policy)";
	policy_reset(p, name);
	memset(&ps, 0, sizeof ps);
	ps.p = p;
	ps.file = name;
	ps.diag = diag;
	ps.ctx = ctx;
	ps.programs_only = programs_only;
	if (!text)
		len = 0;
	/* A UTF-8 byte order mark at the start is not an error. */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < len && !ps.stopped) {
		const char *s = text + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos;
		pos += n + (nl ? 1 : 0);
		ps.line++;
		if (n && s[n - 1] == '\r')
			n--;		/* CRLF */
		if (n > KSMP_POLICY_MAX_LINE) {
			pp_report(&ps, "line too long (more than 1024 bytes)");
			continue;
		}
		if (!line_is_text(&ps, (const unsigned char *)s, n))
			continue;
		parse_line(&ps, s, n);
	}
	/* mode auto with no rules of its own: the built-in bounds, also
	 * when the file gave up (too many problems), so that the policy
	 * reads back the same from its own formatted text */
	if (p->mode == KSMP_MODE_AUTO && !p->nrules)
		add_auto_rules(&ps);
	return ps.problems;
}

int ksmp_policy_parse(struct ksmp_policy *p, const char *name,
		      const char *text, size_t len,
		      ksmp_diag_fn diag, void *ctx)
{
	return parse_text(p, name, text, len, false, diag, ctx);
}

int ksmp_policy_parse_programs(struct ksmp_policy *p, const char *name,
			       const char *text, size_t len)
{
	return parse_text(p, name, text, len, true, NULL, NULL);
}

/* Could parse_text find a program line here: a line whose first token
 * (after blanks, and after the byte order mark on the first line) starts
 * with "program" and ends there? A cheap look that may say yes wrongly
 * (a line the parser would refuse as too long or not text), never no
 * wrongly, so a file it rules out has no program line to match. */
bool ksmp_policy_may_have_program(const char *text, size_t len)
{
	static const char kw[] = "program";
	const size_t kn = sizeof kw - 1;
	size_t pos = len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;

	while (pos < len) {
		while (pos < len && (text[pos] == ' ' || text[pos] == '\t'))
			pos++;
		if (len - pos >= kn && memcmp(text + pos, kw, kn) == 0 &&
		    (len - pos == kn || text[pos + kn] == ' ' ||
		     text[pos + kn] == '\t' || text[pos + kn] == '\r' ||
		     text[pos + kn] == '\n'))
			return true;
		const char *nl = memchr(text + pos, '\n', len - pos);
		if (!nl)
			break;
		pos = (size_t)(nl - text) + 1;
	}
	return false;
}

const struct ksmp_policy *ksmp_policy_default_image;

void ksmp_policy_default(struct ksmp_policy *p)
{
	if (ksmp_policy_default_image) {
		memcpy(p, ksmp_policy_default_image, sizeof *p);
		return;
	}
	ksmp_policy_parse(p, "built-in default", ksmp_default_policy_text,
			  strlen(ksmp_default_policy_text), NULL, NULL);
	p->builtin_rules = 1;
}

void ksmp_policy_default_secure(struct ksmp_policy *p)
{
	ksmp_policy_parse(p, "built-in default-secure", ksmp_secure_policy_text,
			  strlen(ksmp_secure_policy_text), NULL, NULL);
}
