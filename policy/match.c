/*
 * match.c - the matcher: which rule applies to a region, and does a policy
 * apply to a program.
 *
 * ksmp_policy_match runs inside mmap/malloc hooks and signal handlers: it
 * only reads the flat policy, takes no lock, allocates nothing and never
 * looks at the locale.
 */
#include <string.h>

#include "policy-int.h"

/* A glob with a '/' is matched against the whole string, otherwise
 * against its basename. */
static bool glob_path(const struct ksmp_policy *p, struct ksmp_str g,
		      const char *s)
{
	const char *pat = p->pool + g.off;
	if (!memchr(pat, '/', g.len))
		s = ksmp_basename(s);
	return ksmp_glob_match(pat, g.len, s);
}

bool ksmp_policy_matches_program(const struct ksmp_policy *p,
				 const char *exe, const char *argv0)
{
	for (unsigned i = 0; i < p->nprograms && i < KSMP_POLICY_MAX_PROGRAMS; i++) {
		struct ksmp_str g = p->programs[i];
		if (g.off >= KSMP_POLICY_STRPOOL ||
		    g.len > KSMP_POLICY_STRPOOL - g.off)
			continue;
		bool slash = memchr(p->pool + g.off, '/', g.len) != NULL;
		if (exe && glob_path(p, g, exe))
			return true;
		if (!slash && argv0 && glob_path(p, g, argv0))
			return true;
	}
	return false;
}

int ksmp_policy_match(const struct ksmp_policy *p, const struct ksmp_query *q,
		      enum ksmp_action *action)
{
	unsigned n = p->nrules < KSMP_POLICY_MAX_RULES ? p->nrules :
		KSMP_POLICY_MAX_RULES;

	for (unsigned i = 0; i < n; i++) {
		const struct ksmp_rule *r = &p->rules[i];
		if ((unsigned)q->kind >= KSMP_KIND_COUNT ||
		    !(r->kinds & (1u << q->kind)))
			continue;
		if (q->size < r->min_size || q->size > r->max_size)
			continue;
		if (r->prot_set &&
		    (q->prot & (KSMP_PROT_R | KSMP_PROT_W | KSMP_PROT_X)) != r->prot_val)
			continue;
		if (r->ncallers) {
			bool hit = false;
			if (q->caller) {
				for (unsigned c = 0; c < r->ncallers &&
				     c < KSMP_POLICY_MAX_CALLERS && !hit; c++) {
					struct ksmp_str g = r->callers[c];
					if (g.off < KSMP_POLICY_STRPOOL &&
					    g.len <= KSMP_POLICY_STRPOOL - g.off)
						hit = glob_path(p, g, q->caller);
				}
			}
			if (!hit)
				continue;
		}
		if (action)
			*action = (enum ksmp_action)r->action;
		return (int)i;
	}
	if (action)
		*action = KSMP_ACT_SKIP;
	return -1;
}

bool ksmp_policy_skips_caller(const struct ksmp_policy *p, const char *caller)
{
	unsigned n = p->nrules < KSMP_POLICY_MAX_RULES ? p->nrules :
		KSMP_POLICY_MAX_RULES;

	if (!caller || !*caller)
		return false;
	for (unsigned i = 0; i < n; i++) {
		const struct ksmp_rule *r = &p->rules[i];
		if (r->action != KSMP_ACT_SKIP || !r->ncallers ||
		    !(r->kinds & (1u << KSMP_KIND_HEAP)) || r->prot_set ||
		    r->min_size != 0 || r->max_size != UINT64_MAX)
			continue;
		for (unsigned c = 0; c < r->ncallers &&
		     c < KSMP_POLICY_MAX_CALLERS; c++) {
			struct ksmp_str g = r->callers[c];
			if (g.off < KSMP_POLICY_STRPOOL &&
			    g.len <= KSMP_POLICY_STRPOOL - g.off &&
			    glob_path(p, g, caller))
				return true;
		}
	}
	return false;
}

bool ksmp_rule_covers(const struct ksmp_rule *a, const struct ksmp_rule *b)
{
	if (a->ncallers)
		return false;	/* globs: not compared */
	if ((a->kinds & b->kinds) != b->kinds)
		return false;
	if (a->min_size > b->min_size || a->max_size < b->max_size)
		return false;
	if (a->prot_set && (!b->prot_set || b->prot_val != a->prot_val))
		return false;
	return true;
}
