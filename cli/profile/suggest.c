/* suggest.c - the suggested policy: per (kind, object), merge what KSM
 * merged at an acceptable scan cost, crypto libraries skipped first. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <stdarg.h>

#include "ksmp_util.h"
#include "policy.h"
#include "profile.h"

/* Per (kind, object) aggregate, the unit a policy rule can express. */
struct group {
	int kind;
	const char *obj;
	uint64_t advised, rss, merged;
	bool done;
};

static int append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return -1;
		if ((size_t)n < *cap - *len) {
			*len += (size_t)n;
			return 0;
		}
		if (ksmp_grow(buf, cap, *len + (size_t)n + 1, 1, 4096) < 0)
			return -1;
	}
}

static bool glob_safe(const char *s)
{
	for (; *s; s++)
		if (isspace((unsigned char)*s) || strchr("*?[]\\#,=", *s))
			return false;
	return true;
}

char *prof_suggest_policy(const struct origins *os, const char *cmd, int ninst)
{
	size_t len = 0, cap = 4096;
	char *p = malloc(cap);
	if (!p)
		return NULL;
	p[0] = '\0';
	struct group *g = calloc(os->n ? os->n : 1, sizeof(*g));
	size_t ng = 0;
	for (size_t i = 0; g && i < os->n; i++) {
		const struct origin *o = &os->o[i];
		size_t k;
		for (k = 0; k < ng; k++)
			if (g[k].kind == o->kind && !strcmp(g[k].obj, o->obj))
				break;
		if (k == ng) {
			g[ng].kind = o->kind;
			g[ng].obj = o->obj;
			ng++;
		}
		g[k].advised += o->advised;
		g[k].rss += o->rss;
		g[k].merged += o->merged;
	}
	/* Names from the command line, the targets' state blocks and their
	 * objects' file and symbol names go into comments escaped: a name
	 * with a newline must not start a line of its own (a rule). */
	char eo[4 * KSMP_STATE_CALLER_MAX + 1], ef[4 * 192 + 1];
	append(&p, &len, &cap,
	       "# Suggested by `ksmpreload profile` from %d instance(s) of %s.\n"
	       "# Origins that KSM merged at a scan cost of at most %d present pages per\n"
	       "# merged page are merged; everything else matches no rule and is not merged.\n",
	       ninst, ksmp_text_esc(ef, sizeof(ef), prof_base(cmd)), COST_LIMIT);
	append(&p, &len, &cap, "name      %s-profiled\n", glob_safe(prof_base(cmd)) ? prof_base(cmd) : "program");
	if (glob_safe(prof_base(cmd)))
		append(&p, &len, &cap, "program   %s\n", prof_base(cmd));
	append(&p, &len, &cap, "mode      regions\nlog       error\nstrict    no\ncontrol   yes\n"
	       "heap-step 8M\n\n%s", "# Crypto libraries' memory stays apart (timing side channel), always first.\n"
	       PROF_CRYPTO_SKIPS);
	/* rules with a caller first (skips, then merges by merged bytes), then
	 * the kinds whose regions have no known caller (heap, arenas). */
	for (int pass = 0; pass < 3 && g; pass++) {
		for (;;) {
			struct group *best = NULL;
			for (size_t k = 0; k < ng; k++) {
				struct group *x = &g[k];
				bool prod = prof_productive(x->rss, x->merged);
				bool callered = x->obj[0] && glob_safe(x->obj);
				if (x->done || (pass == 0 && (!callered || prod)) ||
				    (pass == 1 && (!callered || !prod)) ||
				    (pass == 2 && callered))
					continue;
				if (!best || x->merged > best->merged)
					best = x;
			}
			if (!best)
				break;
			best->done = true;
			const char *kn = ksmp_kind_name((enum ksmp_kind)best->kind);
			bool prod = prof_productive(best->rss, best->merged);
			char a[16], m[16];
			prof_human(a, sizeof(a), best->advised);
			prof_human(m, sizeof(m), best->merged);
			append(&p, &len, &cap, "\n# %s from %s: %s advised, %s merged, cost %.1f "
			       "present pages per merged page\n",
			       kn, best->obj[0] ? ksmp_text_esc(eo, sizeof(eo), best->obj) :
			       "(no caller)", a, m,
			       prof_cost_of(best->rss, best->merged));
			for (size_t i = 0; i < os->n; i++) {
				const struct origin *o = &os->o[i];
				if (o->kind != best->kind || strcmp(o->obj, best->obj))
					continue;
				prof_human(a, sizeof(a), o->advised);
				prof_human(m, sizeof(m), o->merged);
				append(&p, &len, &cap, "#   %s: %s advised, %s merged\n",
				       o->func[0] ? ksmp_text_esc(ef, sizeof(ef), o->func) :
				       "(unknown function)", a, m);
			}
			if (best->obj[0])
				append(&p, &len, &cap, "# (the policy language has no function "
				       "condition: this rule covers every function of %s)\n",
				       ksmp_text_esc(eo, sizeof(eo), best->obj));
			if (pass == 2 && best->obj[0] && prod) {
				/* an object name a glob cannot carry safely: by kind */
				append(&p, &len, &cap, "merge %s\n", kn);
			} else if (pass == 2 && !prod) {
				append(&p, &len, &cap, "# not merged (no rule needed)\n");
			} else if (pass == 2) {
				append(&p, &len, &cap, "merge %s\n", kn);
			} else {
				append(&p, &len, &cap, "%s %s caller=%s\n",
				       prod ? "merge" : "skip ", kn, best->obj);
			}
		}
	}
	free(g);
	return p;
}
