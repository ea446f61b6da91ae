/*
 * rule.c - parsing one merge/skip rule: the kind list, then conditions
 * (min=, max=, prot=, caller=). A new condition is parsed here, matched
 * and compared in match.c, and printed in format.c (HACKING.md).
 * Allocation-free like the rest of the parser (policy.c).
 */
#include <stdbool.h>
#include <string.h>

#include "policy-int.h"

/* KIND[,KIND...] or any. Returns the kind bits, 0 after reporting. */
static uint32_t kind_list(struct parse *ps, struct tok t)
{
	uint32_t bits = 0;
	bool bad = false;
	size_t i = 0;

	for (;;) {
		size_t j = i;
		while (j < t.n && t.s[j] != ',')
			j++;
		struct tok k = { t.s + i, j - i };
		if (k.n == 0) {
			pp_report3(ps, "empty kind in list ", &t, NULL);
			bad = true;
		} else if (pp_tok_is(k, "any")) {
			bits |= (1u << KSMP_KIND_COUNT) - 1;
		} else {
			int idx = pp_word_index(k, ksmp_kind_names, KSMP_KIND_COUNT);
			if (idx < 0) {
				pp_report3(ps, "unknown kind ", &k,
					" (heap, arena, chunk, mmap, file, stack, data or any)");
				bad = true;
			} else {
				bits |= 1u << idx;
			}
		}
		if (j >= t.n)
			break;
		i = j + 1;
	}
	return bad ? 0 : bits;
}

static bool prot_value(struct parse *ps, struct tok v, uint8_t *out)
{
	unsigned bits = 0;
	bool bad = v.n == 0;

	if (pp_tok_is(v, "none")) {
		*out = 0;
		return true;
	}
	for (size_t i = 0; i < v.n && !bad; i++) {
		unsigned b;
		switch (v.s[i]) {
		case 'r': b = KSMP_PROT_R; break;
		case 'w': b = KSMP_PROT_W; break;
		case 'x': b = KSMP_PROT_X; break;
		case '-': b = 0; break;
		default: bad = true; continue;
		}
		if (bits & b)
			bad = true;
		bits |= b;
	}
	if (bad) {
		pp_report3(ps, "bad prot ", &v,
			" (letters r, w, x, e.g. rw; or none)");
		return false;
	}
	*out = (uint8_t)bits;
	return true;
}

/* A rule being parsed. */
struct rule_parse {
	struct ksmp_rule r;
	bool bad, have_kinds, have_min, have_max, overflow_reported;
};

/* One condition ("min=1M", "caller=lib*.so"): into rp->r, or reported. */
static void rule_cond(struct parse *ps, struct rule_parse *rp, struct tok t)
{
	struct ksmp_rule *r = &rp->r;
	const char *eq = memchr(t.s, '=', t.n);
	if (!eq) {
		pp_report3(ps, "unexpected ", &t, rp->have_kinds ?
			" (conditions are min=, max=, prot=, caller=)" :
			" (the kind list comes first)");
		rp->bad = true;
		return;
	}
	struct tok key = { t.s, (size_t)(eq - t.s) + 1 };
	struct tok v = { eq + 1, t.n - key.n };
	if (pp_tok_is(key, "min=") || pp_tok_is(key, "max=")) {
		bool is_min = key.s[1] == 'i';
		bool *have = is_min ? &rp->have_min : &rp->have_max;
		uint64_t sz;
		if (*have) {
			pp_report3(ps, "duplicate ", &key, " in one rule");
			rp->bad = true;
		} else if (!pp_size_value(ps, is_min ? "min=" : "max=", v, &sz)) {
			rp->bad = true;
		} else if (is_min) {
			r->min_size = sz;
		} else {
			r->max_size = sz;
		}
		*have = true;
	} else if (pp_tok_is(key, "prot=")) {
		if (r->prot_set) {
			pp_report(ps, "duplicate 'prot=' in one rule");
			rp->bad = true;
		} else if (!prot_value(ps, v, &r->prot_val)) {
			rp->bad = true;
		}
		r->prot_set = 1;
	} else if (pp_tok_is(key, "caller=")) {
		if (!pp_glob_ok(ps, "bad caller= glob ", v)) {
			rp->bad = true;
		} else if (r->ncallers == KSMP_POLICY_MAX_CALLERS) {
			if (!rp->overflow_reported)
				pp_report(ps, "too many caller= globs in one rule (at most 8; split the rule)");
			rp->overflow_reported = true;
			rp->bad = true;
		} else if (!rp->bad && !pp_pool_add(ps->p, v, &r->callers[r->ncallers])) {
			if (!rp->overflow_reported)
				pp_report(ps, "too many globs: all globs together must fit in 4096 bytes");
			rp->overflow_reported = true;
			rp->bad = true;
		} else {
			r->ncallers++;
		}
	} else {
		pp_report3(ps, "unknown condition ", &t,
			" (min=, max=, prot= or caller=)");
		rp->bad = true;
	}
}

void pp_kw_rule(struct parse *ps, struct tok kw, uint8_t action)
{
	struct ksmp_policy *p = ps->p;
	struct rule_parse rp;
	struct ksmp_rule *r = &rp.r;
	unsigned pool_mark = p->pool_used;
	struct tok t;

	memset(&rp, 0, sizeof rp);
	r->action = action;
	r->max_size = UINT64_MAX;
	r->line = (uint16_t)(ps->line > UINT16_MAX ? UINT16_MAX : ps->line);

	if (!pp_next_tok(ps, &t)) {
		pp_report3(ps, NULL, &kw,
			" needs a kind list (heap, arena, chunk, mmap, file, stack, data or any) or conditions");
		return;
	}
	bool more = true;
	if (!memchr(t.s, '=', t.n)) {
		rp.have_kinds = true;
		r->kinds = kind_list(ps, t);
		if (!r->kinds)
			rp.bad = true;
		more = pp_next_tok(ps, &t);
	} else {
		r->kinds = (1u << KSMP_KIND_COUNT) - 1;
	}
	for (; more; more = pp_next_tok(ps, &t))
		rule_cond(ps, &rp, t);
	if (!rp.bad && r->min_size > r->max_size) {
		char msg[128];
		struct ksmp_sb sb;
		ksmp_sb_init(&sb, msg, sizeof msg);
		ksmp_sb_puts(&sb, "min=");
		ksmp_sb_putsize(&sb, r->min_size);
		ksmp_sb_puts(&sb, " is larger than max=");
		ksmp_sb_putsize(&sb, r->max_size);
		pp_report(ps, msg);
		rp.bad = true;
	}
	if (!rp.bad && p->nrules == KSMP_POLICY_MAX_RULES) {
		pp_report(ps, "too many rules (at most 64)");
		rp.bad = true;
	}
	if (rp.bad) {
		p->pool_used = (uint16_t)pool_mark;
		return;
	}
	p->rules[p->nrules++] = *r;
	if (action == KSMP_ACT_MERGE)
		p->kinds_merged |= r->kinds;
	if (r->ncallers)
		p->has_caller_rules = 1;
}
