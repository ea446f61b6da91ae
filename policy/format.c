/*
 * format.c - the canonical text form of a compiled policy: what
 * `ksmpreload check` shows and what mergefs publishes. Parsing the output
 * gives back the same compiled policy (except the source and rule line
 * numbers). No allocation, no stdio.
 */
#include "policy-int.h"

static void put_glob(struct ksmp_sb *sb, const struct ksmp_policy *p,
		     struct ksmp_str g)
{
	if (g.off < KSMP_POLICY_STRPOOL && g.len <= KSMP_POLICY_STRPOOL - g.off)
		ksmp_sb_putn(sb, p->pool + g.off, g.len);
}

static void put_rule(struct ksmp_sb *sb, const struct ksmp_policy *p,
		     const struct ksmp_rule *r)
{
	const uint32_t all = (1u << KSMP_KIND_COUNT) - 1;

	ksmp_sb_puts(sb, r->action == KSMP_ACT_MERGE ? "merge " : "skip ");
	if ((r->kinds & all) == all) {
		ksmp_sb_puts(sb, "any");
	} else {
		bool first = true;
		for (int k = 0; k < KSMP_KIND_COUNT; k++) {
			if (!(r->kinds & (1u << k)))
				continue;
			if (!first)
				ksmp_sb_putc(sb, ',');
			ksmp_sb_puts(sb, ksmp_kind_name((enum ksmp_kind)k));
			first = false;
		}
	}
	if (r->min_size) {
		ksmp_sb_puts(sb, " min=");
		ksmp_sb_putsize(sb, r->min_size);
	}
	if (r->max_size != UINT64_MAX) {
		ksmp_sb_puts(sb, " max=");
		ksmp_sb_putsize(sb, r->max_size);
	}
	if (r->prot_set) {
		ksmp_sb_puts(sb, " prot=");
		if (!r->prot_val)
			ksmp_sb_puts(sb, "none");
		if (r->prot_val & KSMP_PROT_R)
			ksmp_sb_putc(sb, 'r');
		if (r->prot_val & KSMP_PROT_W)
			ksmp_sb_putc(sb, 'w');
		if (r->prot_val & KSMP_PROT_X)
			ksmp_sb_putc(sb, 'x');
	}
	for (unsigned c = 0; c < r->ncallers && c < KSMP_POLICY_MAX_CALLERS; c++) {
		ksmp_sb_puts(sb, " caller=");
		put_glob(sb, p, r->callers[c]);
	}
	ksmp_sb_putc(sb, '\n');
}

size_t ksmp_rule_format(const struct ksmp_policy *p, unsigned i, char *buf,
			size_t bufsz)
{
	struct ksmp_sb sb;

	ksmp_sb_init(&sb, buf, bufsz);
	if (i < p->nrules && i < KSMP_POLICY_MAX_RULES)
		put_rule(&sb, p, &p->rules[i]);
	return sb.len;
}

size_t ksmp_policy_format(const struct ksmp_policy *p, char *buf, size_t bufsz)
{
	struct ksmp_sb sb;

	ksmp_sb_init(&sb, buf, bufsz);
	ksmp_sb_puts(&sb, "name ");
	ksmp_sb_puts(&sb, p->name);
	ksmp_sb_putc(&sb, '\n');
	if (p->nprograms) {
		ksmp_sb_puts(&sb, "program");
		for (unsigned i = 0; i < p->nprograms && i < KSMP_POLICY_MAX_PROGRAMS; i++) {
			ksmp_sb_putc(&sb, ' ');
			put_glob(&sb, p, p->programs[i]);
		}
		ksmp_sb_putc(&sb, '\n');
	}
	ksmp_sb_puts(&sb, "mode ");
	ksmp_sb_puts(&sb, ksmp_mode_name((enum ksmp_mode)p->mode));
	ksmp_sb_puts(&sb, "\nlog ");
	ksmp_sb_puts(&sb, ksmp_loglevel_name((enum ksmp_loglevel)p->loglevel));
	ksmp_sb_puts(&sb, p->strict ? "\nstrict yes" : "\nstrict no");
	ksmp_sb_puts(&sb, p->control ? "\ncontrol yes" : "\ncontrol no");
	ksmp_sb_puts(&sb, "\nheap-step ");
	ksmp_sb_putsize(&sb, p->heap_step);
	ksmp_sb_putc(&sb, '\n');
	if (p->inherited_off)	/* only when not the default: keep */
		ksmp_sb_puts(&sb, "inherited-merge off\n");
	if (p->secure_exec)	/* likewise */
		ksmp_sb_puts(&sb, "secure-exec yes\n");
	bool a = p->mode == KSMP_MODE_AUTO;
	if (a || p->auto_chunk != KSMP_DEFAULT_AUTO_CHUNK) {
		ksmp_sb_puts(&sb, "auto-chunk ");
		ksmp_sb_putsize(&sb, p->auto_chunk);
		ksmp_sb_putc(&sb, '\n');
	}
	if (a || p->auto_vmas != KSMP_DEFAULT_AUTO_VMAS) {
		ksmp_sb_puts(&sb, "auto-vmas ");
		ksmp_sb_putu(&sb, p->auto_vmas);
		ksmp_sb_putc(&sb, '\n');
	}
	if (a || p->auto_reprobe != KSMP_DEFAULT_AUTO_REPROBE) {
		ksmp_sb_puts(&sb, "auto-reprobe ");
		ksmp_sb_putu(&sb, p->auto_reprobe);
		ksmp_sb_putc(&sb, '\n');
	}
	for (unsigned i = 0; i < p->nrules && i < KSMP_POLICY_MAX_RULES; i++)
		put_rule(&sb, p, &p->rules[i]);
	return sb.len;
}
