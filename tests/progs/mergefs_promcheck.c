/*
 * mergefs_promcheck - validate Prometheus text exposition format (0.0.4)
 * on stdin, line by line, strictly enough for mergefs's /metrics:
 *
 *   - "# HELP name text" and "# TYPE name type" at most once per family,
 *     both before the family's first sample; HELP text escapes only
 *     \\ and \n; type is counter, gauge, histogram, summary or untyped
 *   - every sample belongs to a family declared by # TYPE, and a family's
 *     samples are contiguous (a family never comes back)
 *   - metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names
 *     [a-zA-Z_][a-zA-Z0-9_]* not starting with "__", label values quoted
 *     with only \\ \" \n escapes, no label twice in one sample
 *   - values parse as floats (or NaN, +Inf, -Inf), an optional integer
 *     timestamp, nothing after; no series (name + label set) twice
 *   - the text ends with a newline
 *
 * Prints "ok SAMPLES FAMILIES" and exits 0, or "bad LINE: why" and 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXLINE 65536

static int lineno;

static int bad(const char *why, const char *detail)
{
	printf("bad %d: %s%s%s\n", lineno, why, detail ? ": " : "", detail ? detail : "");
	exit(1);
}

static int is_name_start(int c, int colon)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}

static int is_name_char(int c, int colon)
{
	return is_name_start(c, colon) || (c >= '0' && c <= '9');
}

/* Length of the metric (colon = 1) or label name at s; 0 if none. */
static size_t name_len(const char *s, int colon)
{
	if (!is_name_start((unsigned char)*s, colon))
		return 0;
	size_t n = 1;
	while (is_name_char((unsigned char)s[n], colon))
		n++;
	return n;
}

/* ---------------------------------------------------------------- sets */
struct strs {
	char **v;
	size_t n, cap;
};

static void push(struct strs *s, const char *p, size_t n)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (!s->v)
			bad("out of memory", NULL);
	}
	char *c = malloc(n + 1);
	if (!c)
		bad("out of memory", NULL);
	memcpy(c, p, n);
	c[n] = 0;
	s->v[s->n++] = c;
}

static int has(const struct strs *s, const char *p)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], p))
			return 1;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static struct strs helped, typed, done_families, series;
static char current[1024];	/* family of the samples being read */

static int float_ok(const char *s, size_t n)
{
	char buf[128];
	if (n == 0 || n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = 0;
	if (!strcmp(buf, "NaN") || !strcmp(buf, "+Inf") || !strcmp(buf, "-Inf"))
		return 1;
	char *e;
	errno = 0;
	double d = strtod(buf, &e);
	(void)d;
	/* strtod also takes "inf", "nan", hex: Prometheus's Go parser
	 * takes them too, but mergefs must not print them. */
	if (*e || strpbrk(buf, "xXnNiI"))
		return 0;
	return 1;
}

static void meta(char *l)
{
	/* "# HELP name text", "# TYPE name type", or a comment */
	int help = !strncmp(l, "# HELP ", 7), type = !strncmp(l, "# TYPE ", 7);
	if (!help && !type)
		return;
	char *p = l + 7;
	size_t n = name_len(p, 1);
	if (!n)
		bad("bad metric name in", help ? "HELP" : "TYPE");
	char name[1024];
	if (n >= sizeof(name))
		bad("name too long", NULL);
	memcpy(name, p, n);
	name[n] = 0;
	p += n;
	if (has(&done_families, name) || !strcmp(current, name))
		bad("HELP/TYPE after the family's samples", name);
	if (help) {
		if (has(&helped, name))
			bad("second HELP", name);
		push(&helped, name, n);
		if (*p && *p != ' ')
			bad("junk after HELP name", name);
		for (p = *p ? p + 1 : p; *p; p++) {
			if (*p == '\\') {
				p++;
				if (*p != '\\' && *p != 'n')
					bad("bad escape in HELP", name);
			}
		}
		return;
	}
	if (has(&typed, name))
		bad("second TYPE", name);
	if (*p != ' ')
		bad("TYPE without a type", name);
	p++;
	static const char *const types[] = { "counter", "gauge", "histogram", "summary", "untyped" };
	int ok = 0;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		ok |= !strcmp(p, types[i]);
	if (!ok)
		bad("unknown type", p);
	push(&typed, name, n);
}

static void sample(char *l)
{
	size_t n = name_len(l, 1);
	if (!n)
		bad("bad metric name", l);
	char name[1024];
	if (n >= sizeof(name))
		bad("name too long", NULL);
	memcpy(name, l, n);
	name[n] = 0;
	if (!has(&typed, name))
		bad("sample without a # TYPE before it", name);
	if (strcmp(current, name)) {
		if (has(&done_families, name))
			bad("family's samples are not contiguous", name);
		if (current[0])
			push(&done_families, current, strlen(current));
		snprintf(current, sizeof(current), "%s", name);
	}
	char *p = l + n;
	/* the series key: name and the sorted "label=value" pairs */
	struct strs labels = { 0 };
	if (*p == '{') {
		p++;
		while (*p != '}') {
			size_t ln = name_len(p, 0);
			if (!ln)
				bad("bad label name", p);
			if (ln >= 2 && p[0] == '_' && p[1] == '_')
				bad("reserved label name", p);
			const char *lstart = p;
			p += ln;
			if (p[0] != '=' || p[1] != '"')
				bad("label without =\"", lstart);
			p += 2;
			while (*p != '"') {
				if (!*p)
					bad("unterminated label value", lstart);
				if (*p == '\\') {
					p++;
					if (*p != '\\' && *p != '"' && *p != 'n')
						bad("bad escape in label value", lstart);
				}
				p++;
			}
			p++;
			char key[4096];
			size_t kl = (size_t)(p - lstart);
			if (kl >= sizeof(key))
				bad("label too long", NULL);
			memcpy(key, lstart, kl);
			key[kl] = 0;
			for (size_t i = 0; i < labels.n; i++)
				if (!strncmp(labels.v[i], key, ln + 1))
					bad("label twice", key);
			push(&labels, key, kl);
			if (*p == ',')
				p++;
			else if (*p != '}')
				bad("expected , or } after a label", lstart);
		}
		p++;
	}
	if (*p != ' ')
		bad("no value", name);
	p++;
	size_t vn = strcspn(p, " ");
	if (!float_ok(p, vn))
		bad("value is not a float", p);
	p += vn;
	if (*p == ' ') {
		p++;
		char *e;
		strtoll(p, &e, 10);
		if (e == p || *e)
			bad("bad timestamp", p);
	}
	if (labels.n)
		qsort(labels.v, labels.n, sizeof(*labels.v), cmp_str);
	char key[8192];
	size_t kl = (size_t)snprintf(key, sizeof(key), "%s", name);
	for (size_t i = 0; i < labels.n && kl < sizeof(key); i++) {
		kl += (size_t)snprintf(key + kl, sizeof(key) - kl, "\x1f%s", labels.v[i]);
		free(labels.v[i]);
	}
	free(labels.v);
	push(&series, key, strlen(key));
}

int main(void)
{
	static char l[MAXLINE];
	int last_nl = 1, any = 0;
	while (fgets(l, sizeof(l), stdin)) {
		lineno++;
		any = 1;
		size_t n = strlen(l);
		last_nl = n && l[n - 1] == '\n';
		if (!last_nl && n == sizeof(l) - 1)
			bad("line too long", NULL);
		if (last_nl)
			l[--n] = 0;
		if (n == 0)
			continue;
		if (l[0] == '#')
			meta(l);
		else
			sample(l);
	}
	if (!any)
		bad("empty input", NULL);
	if (!last_nl)
		bad("no newline at the end", NULL);
	if (series.n)
		qsort(series.v, series.n, sizeof(*series.v), cmp_str);
	for (size_t i = 1; i < series.n; i++)
		if (!strcmp(series.v[i - 1], series.v[i]))
			bad("duplicate series", series.v[i]);
	printf("ok %zu %zu\n", series.n, typed.n);
	return 0;
}
