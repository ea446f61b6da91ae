/*
 * fuzz_policy.c - fuzz target for the policy parser, formatter, matcher
 * and glob matcher.
 *
 * Built two ways: with clang -fsanitize=fuzzer,address,undefined by
 * `make fuzz` (libFuzzer provides main), and with the normal compiler
 * into tests/policy_fuzz_replay, which replays the seed corpus and
 * mutations of it under `make check`.
 *
 * Beyond "does not crash", it checks properties: the problem count equals
 * the reports, every report has a sane line number, the canonical format
 * re-parses without problems to the same text, and the matcher agrees
 * with a straightforward reimplementation of first-match, and the quick
 * look for a program line never misses one the parser finds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
	unsigned reports;
	unsigned maxline;
};

static void fz_diag(void *ctx, const char *file, unsigned line, const char *msg)
{
	struct fz *f = ctx;
	if (!file || !msg || !*msg || strlen(msg) > 512 || line > f->maxline)
		abort();
	f->reports++;
}

static bool rule_matches(const struct ksmp_policy *p, const struct ksmp_rule *r,
			 const struct ksmp_query *q)
{
	if (!(r->kinds & (1u << q->kind)) || q->size < r->min_size ||
	    q->size > r->max_size)
		return false;
	if (r->prot_set && (q->prot & 7) != r->prot_val)
		return false;
	if (!r->ncallers)
		return true;
	if (!q->caller)
		return false;
	for (unsigned i = 0; i < r->ncallers; i++) {
		const char *g = p->pool + r->callers[i].off;
		const char *s = memchr(g, '/', r->callers[i].len) ? q->caller :
			(strrchr(q->caller, '/') ? strrchr(q->caller, '/') + 1 : q->caller);
		if (ksmp_glob_match(g, r->callers[i].len, s))
			return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ksmp_policy p, q;
	static char text[65536], text2[65536];
	static char str[1100];
	struct fz f = { 0, 1 };

	for (size_t i = 0; i < size; i++)
		f.maxline += data[i] == '\n';

	int n = ksmp_policy_parse(&p, "fuzz.policy", (const char *)data, size,
				  fz_diag, &f);
	if (n < 0 || (unsigned)n != f.reports)
		abort();
	if (p.nrules > KSMP_POLICY_MAX_RULES || p.nprograms > KSMP_POLICY_MAX_PROGRAMS ||
	    p.pool_used > KSMP_POLICY_STRPOOL || !memchr(p.name, 0, sizeof p.name))
		abort();

	size_t len = ksmp_policy_format(&p, text, sizeof text);
	if (len >= sizeof text)
		abort();
	if (ksmp_policy_parse(&q, "fuzz.policy", text, len, NULL, NULL) != 0)
		abort();
	size_t len2 = ksmp_policy_format(&q, text2, sizeof text2);
	if (len2 != len || memcmp(text, text2, len) != 0)
		abort();

	/* A string from the input, for callers, programs and globs. */
	size_t sl = size < sizeof str - 1 ? size : sizeof str - 1;
	memcpy(str, data, sl);
	str[sl] = '\0';
	static const char *const callers[] = {
		NULL, "libcrypto.so.3", "/usr/lib/x86_64-linux-gnu/libssl.so.3",
		"python3.11", "", "/", "a/b/c",
	};
	for (unsigned k = 0; k <= KSMP_KIND_COUNT; k++) {
		for (size_t c = 0; c <= sizeof callers / sizeof *callers; c++) {
			struct ksmp_query qu = {
				.kind = (enum ksmp_kind)k,
				.size = size > 8 ? (uint64_t)data[0] << (data[1] & 63) : size,
				.prot = size ? data[size - 1] & 7 : 3,
				.caller = c < sizeof callers / sizeof *callers ? callers[c] : str,
			};
			enum ksmp_action a;
			int r = ksmp_policy_match(&p, &qu, &a);
			int want = -1;
			for (unsigned i = 0; k < KSMP_KIND_COUNT && i < p.nrules; i++)
				if (rule_matches(&p, &p.rules[i], &qu)) {
					want = (int)i;
					break;
				}
			if (r != want || a != (r < 0 ? KSMP_ACT_SKIP :
					       (enum ksmp_action)p.rules[r].action))
				abort();
		}
	}
	/* The quick look that selection makes may say yes wrongly, never no
	 * when the parser finds a program line. */
	bool maybe = ksmp_policy_may_have_program((const char *)data, size);
	if (p.nprograms && !maybe)
		abort();
	ksmp_policy_parse_programs(&q, "fuzz.policy", (const char *)data, size);
	if (q.nprograms && !maybe)
		abort();
	(void)ksmp_policy_matches_program(&p, str, "python3");
	(void)ksmp_policy_matches_program(&p, "/usr/bin/python3.11", str);

	/* Glob: pattern up to the first newline, subject after it. */
	const char *nl = memchr(str, '\n', sl);
	if (nl) {
		size_t pl = (size_t)(nl - str);
		(void)ksmp_glob_match(str, pl, nl + 1);
	}
	(void)ksmp_glob_match((const char *)data, size, "libcrypto.so.3");

	uint64_t v;
	int r = ksmp_parse_size((const char *)data, size, &v);
	if (r != 0 && r != -22 && r != -34)	/* EINVAL, ERANGE */
		abort();
	return 0;
}
