/*
 * auto_policy.c - the policy side of mode auto: the mode and its bounds
 * parse, are checked and survive the canonical format; a mode auto
 * policy without rules gets the built-in rules (which skip crypto
 * callers, files and code, and select all anonymous data, thread stacks
 * too).
 */
#include <stdio.h>
#include <string.h>

#include "policy.h"
#include "../tap.h"

static char diags[4096];

static void collect(void *ctx, const char *file, unsigned line, const char *msg)
{
	(void)ctx;
	size_t n = strlen(diags);
	snprintf(diags + n, sizeof diags - n, "%s:%u: %s\n", file, line, msg);
}

static struct ksmp_policy P, Q;

static int parse(struct ksmp_policy *p, const char *text)
{
	diags[0] = '\0';
	return ksmp_policy_parse(p, "t.policy", text, strlen(text), collect, NULL);
}

static int action(const struct ksmp_policy *p, enum ksmp_kind kind,
		  uint64_t size, int prot, const char *caller)
{
	struct ksmp_query q = { .kind = kind, .size = size, .prot = prot,
				.caller = caller };
	enum ksmp_action a;
	ksmp_policy_match(p, &q, &a);
	return a;
}

static void bad(const char *text, const char *want)
{
	int n = parse(&P, text);
	ok(n == 1 && strstr(diags, want), "rejected: %s", want);
	if (n != 1 || !strstr(diags, want))
		diag("%s", diags);
}

int main(void)
{
	ok(parse(&P, "mode auto\n") == 0 && P.mode == KSMP_MODE_AUTO, "mode auto parses");
	ok(P.auto_chunk == 2u << 20 && P.auto_vmas == 128 && P.auto_reprobe == 60,
	   "bounds default to 2M, 128 VMAs, 60 s");
	ok(P.nrules == 8, "no rules of its own: the %u built-in ones", P.nrules);
	ok(action(&P, KSMP_KIND_HEAP, 4 << 20, 3, NULL) == KSMP_ACT_MERGE &&
	   action(&P, KSMP_KIND_ARENA, 64 << 20, 0, NULL) == KSMP_ACT_MERGE &&
	   action(&P, KSMP_KIND_CHUNK, 200 << 10, 3, "libpython3.11.so.1.0") == KSMP_ACT_MERGE &&
	   action(&P, KSMP_KIND_MMAP, 256 << 10, 3, "node") == KSMP_ACT_MERGE &&
	   action(&P, KSMP_KIND_MMAP, 1 << 30, 0, "libjvm.so") == KSMP_ACT_MERGE,
	   "they select heap, arenas, chunks, data mmaps (also PROT_NONE reservations)");
	ok(action(&P, KSMP_KIND_MMAP, 1 << 20, 3, "libcrypto.so.3") == KSMP_ACT_SKIP &&
	   action(&P, KSMP_KIND_CHUNK, 1 << 20, 3, "libgnutls.so.30") == KSMP_ACT_SKIP &&
	   action(&P, KSMP_KIND_FILE, 8 << 20, 3, NULL) == KSMP_ACT_SKIP &&
	   action(&P, KSMP_KIND_MMAP, 8 << 20, 7, "libjvm.so") == KSMP_ACT_SKIP &&
	   action(&P, KSMP_KIND_MMAP, 8 << 20, 5, "node") == KSMP_ACT_SKIP &&
	   action(&P, KSMP_KIND_MMAP, 32 << 10, 3, "node") == KSMP_ACT_SKIP,
	   "and skip crypto callers, files, code, small mmaps");
	ok(action(&P, KSMP_KIND_STACK, 8 << 20, 3, NULL) == KSMP_ACT_MERGE,
	   "and select thread stacks");
	ok(action(&P, KSMP_KIND_DATA, 64 << 10, 3, "libpython3.11.so.1.0") == KSMP_ACT_MERGE &&
	   action(&P, KSMP_KIND_DATA, 64 << 10, 3, "libssl.so.3") == KSMP_ACT_SKIP,
	   "and objects' static data, not crypto libraries'");
	ok(parse(&P, "mode auto\nmerge mmap min=1M\n") == 0 && P.nrules == 1,
	   "rules of its own bound what auto may advise");
	ok(parse(&P, "mode auto\nauto-chunk 64K\nauto-vmas 0\nauto-reprobe 86400\n") == 0 &&
	   P.auto_chunk == 65536 && P.auto_vmas == 0 && P.auto_reprobe == 86400,
	   "bounds at their limits");
	static char text[16384], text2[16384];
	size_t n = ksmp_policy_format(&P, text, sizeof text);
	ok(parse(&Q, text) == 0 && Q.auto_chunk == P.auto_chunk && Q.auto_vmas == 0 &&
	   Q.auto_reprobe == 86400 && Q.nrules == P.nrules, "canonical text round trip");
	ksmp_policy_format(&Q, text2, sizeof text2);
	is_str(text2, text, "format is a fixpoint");
	ok(n == strlen(text) && strstr(text, "mode auto\n") && strstr(text, "auto-chunk 64K\n"),
	   "canonical text shows the mode and bounds");
	ok(parse(&P, "mode regions\nauto-vmas 7\n") == 0 &&
	   ksmp_policy_format(&P, text, sizeof text) && strstr(text, "auto-vmas 7\n") &&
	   !strstr(text, "auto-chunk"), "a bound given outside mode auto is kept, defaults are not shown");
	bad("auto-chunk 3M\n", "power of two");
	bad("auto-chunk 32K\n", "from 64K to 1G");
	bad("auto-vmas 5000\n", "auto-vmas must be");
	bad("auto-vmas 12K\n", "auto-vmas must be");
	bad("auto-reprobe 0\n", "auto-reprobe must be");
	bad("auto-reprobe\n", "auto-reprobe");
	bad("auto-vmas 1\nauto-vmas 2\n", "auto-vmas");
	bad("mode automatic\n", "unknown mode");
	tap_plan(tap_n_);	/* trailing plan */
	return tap_done();
}
