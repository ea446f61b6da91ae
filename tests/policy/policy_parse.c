/*
 * policy_parse.c - unit tests of the policy parser, glob matcher, matcher
 * and canonical format (policy/).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"
#include "../tap.h"

static char diags[16384];
static unsigned ndiags;

static void collect(void *ctx, const char *file, unsigned line, const char *msg)
{
	size_t n = strlen(diags);
	(void)ctx;
	snprintf(diags + n, sizeof diags - n, "%s:%u: %s\n",
		 file ? file : "-", line, msg);
	ndiags++;
}

static struct ksmp_policy P, Q;

static int parse(const char *text)
{
	diags[0] = '\0';
	ndiags = 0;
	return ksmp_policy_parse(&P, "t.policy", text, strlen(text), collect, NULL);
}

/* One bad line: exactly one problem, on the expected line, whose message
 * contains want. */
static void bad(const char *text, unsigned line, const char *want)
{
	char prefix[32];
	int n = parse(text);
	snprintf(prefix, sizeof prefix, "t.policy:%u: ", line);
	int good = n == 1 && ndiags == 1 && strncmp(diags, prefix, strlen(prefix)) == 0 &&
		strstr(diags, want) != NULL;
	if (!good)
		diag("input '%s' gave %d problem(s): %s", text, n, diags);
	ok(good, "error: %s", want);
}

static void good(const char *text, const char *what)
{
	int n = parse(text);
	if (n)
		diag("%s", diags);
	ok(n == 0 && ndiags == 0, "valid: %s", what);
}

static int match(const struct ksmp_policy *p, enum ksmp_kind kind,
		 uint64_t size, int prot, const char *caller, enum ksmp_action *a)
{
	struct ksmp_query q = { .kind = kind, .size = size, .prot = prot,
				.caller = caller };
	return ksmp_policy_match(p, &q, a);
}

/* Compiled policies equal, ignoring source and rule line numbers. */
static int same_policy(const struct ksmp_policy *a, const struct ksmp_policy *b)
{
	static struct ksmp_policy x, y;
	x = *a;
	y = *b;
	memset(x.source, 0, sizeof x.source);
	memset(y.source, 0, sizeof y.source);
	x.builtin_rules = y.builtin_rules = 0;	/* where the rules came from */
	for (unsigned i = 0; i < KSMP_POLICY_MAX_RULES; i++)
		x.rules[i].line = y.rules[i].line = 0;
	return memcmp(&x, &y, sizeof x) == 0;
}

static void test_sizes(void)
{
	static const struct { const char *s; int r; uint64_t v; } t[] = {
		{ "0", 0, 0 }, { "4096", 0, 4096 }, { "64K", 0, 64 << 10 },
		{ "64k", 0, 64 << 10 }, { "2M", 0, 2 << 20 }, { "3G", 0, 3ull << 30 },
		{ "1KiB", 0, 1024 }, { "5MiB", 0, 5 << 20 }, { "1GiB", 0, 1 << 30 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551616", -ERANGE, 0 },
		{ "17179869184G", -ERANGE, 0 }, { "17179869183G", 0, 17179869183ull << 30 },
		{ "", -EINVAL, 0 }, { "K", -EINVAL, 0 }, { "-1", -EINVAL, 0 },
		{ "+1", -EINVAL, 0 }, { "1T", -EINVAL, 0 }, { "1Ki", -EINVAL, 0 },
		{ "1KB", -EINVAL, 0 }, { "1 K", -EINVAL, 0 }, { "1.5M", -EINVAL, 0 },
		{ "1KiBx", -EINVAL, 0 }, { "0x10", -EINVAL, 0 },
	};
	for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
		uint64_t v = 12345;
		int r = ksmp_parse_size(t[i].s, strlen(t[i].s), &v);
		ok(r == t[i].r && (r || v == t[i].v), "size '%s' -> %d %llu", t[i].s,
		   t[i].r, (unsigned long long)t[i].v);
	}
	uint64_t v;
	ok(ksmp_parse_size("64Kxyz", 3, &v) == 0 && v == 64 << 10,
	   "size reads only len bytes");
}

static void test_glob(void)
{
	static const struct { const char *p, *s; int m; } t[] = {
		{ "abc", "abc", 1 }, { "abc", "abd", 0 }, { "abc", "ab", 0 },
		{ "abc", "abcd", 0 }, { "", "", 1 }, { "", "a", 0 },
		{ "*", "", 1 }, { "*", "anything/at/all", 1 },
		{ "a*c", "abbbc", 1 }, { "a*c", "abbbd", 0 }, { "a*b*c", "aXbYbZc", 1 },
		{ "*.so*", "libcrypto.so.3", 1 }, { "libcrypto.so*", "libcrypto.so", 1 },
		{ "libcrypto.so*", "libcryptopp.so", 0 },
		{ "?", "a", 1 }, { "?", "", 0 }, { "a?c", "abc", 1 }, { "a?c", "ac", 0 },
		{ "[abc]", "b", 1 }, { "[abc]", "d", 0 }, { "[a-c]x", "bx", 1 },
		{ "[!a-c]", "d", 1 }, { "[!a-c]", "b", 0 }, { "[^a-c]", "z", 1 },
		{ "[]]", "]", 1 }, { "[!]]", "a", 1 }, { "[a-]", "-", 1 },
		{ "[\\]]", "]", 1 }, { "\\*", "*", 1 }, { "\\*", "a", 0 },
		{ "\\?x", "?x", 1 }, { "a[", "a[", 1 }, { "/usr/bin/python3*", "/usr/bin/python3.11", 1 },
		{ "/usr/lib/jvm/*/bin/java", "/usr/lib/jvm/java-17-openjdk-amd64/bin/java", 1 },
		{ "/usr/lib/jvm/*/bin/java", "/usr/bin/java", 0 },
		{ "**a", "bba", 1 }, { "*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0 },
		{ "\xc3\xa9*", "\xc3\xa9t\xc3\xa9", 1 }, { "[\x80-\xff]", "\xc3", 1 },
	};
	for (size_t i = 0; i < sizeof t / sizeof *t; i++)
		ok(ksmp_glob_match(t[i].p, strlen(t[i].p), t[i].s) == t[i].m,
		   "glob '%s' %s '%s'", t[i].p, t[i].m ? "matches" : "does not match", t[i].s);
	ok(ksmp_glob_match("abcdef", 3, "abc"), "glob uses only patlen bytes");
	ok(!ksmp_glob_match(NULL, 0, "x") && !ksmp_glob_match("x", 1, NULL),
	   "glob with NULL never matches");
}

static void test_defaults_and_keywords(void)
{
	good("", "empty file");
	ok(P.mode == KSMP_MODE_REGIONS && P.loglevel == KSMP_LOG_ERROR &&
	   !P.strict && P.control && P.heap_step == 4 << 20 && !P.nrules &&
	   !P.nprograms, "file defaults: regions, log error, strict no, control yes, heap-step 4M");
	is_str(P.name, "t", "name defaults to the file stem");
	is_str(P.source, "t.policy", "source is the file name");

	good("# only a comment\n\n   \t\n  # indented comment\n", "comments and blank lines");
	good("name   my-workload   # trailing comment\n", "name");
	is_str(P.name, "my-workload", "name keyword sets the name");
	good("mode process\n", "mode process");
	is_int(P.mode, KSMP_MODE_PROCESS, "mode process");
	good("mode off", "mode off without trailing newline");
	is_int(P.mode, KSMP_MODE_OFF, "mode off");
	good("mode regions\r\n", "CRLF line end");
	is_int(P.mode, KSMP_MODE_REGIONS, "mode regions");
	good("log none\n", "log none");
	is_int(P.loglevel, KSMP_LOG_NONE, "log none");
	good("log info\n", "log info");
	is_int(P.loglevel, KSMP_LOG_INFO, "log info");
	good("log debug\n", "log debug");
	is_int(P.loglevel, KSMP_LOG_DEBUG, "log debug");
	good("log error\n", "log error");
	is_int(P.loglevel, KSMP_LOG_ERROR, "log error");
	good("strict yes\ncontrol no\n", "strict, control");
	ok(P.strict == 1 && P.control == 0, "strict yes, control no");
	good("strict no\ncontrol yes\n", "strict no, control yes");
	ok(P.strict == 0 && P.control == 1, "strict no, control yes");
	ok(P.secure_exec == 0, "secure-exec: no by default");
	good("secure-exec yes\n", "secure-exec yes");
	ok(P.secure_exec == 1, "secure-exec yes sets it");
	bad("secure-exec yes\nsecure-exec no\n", 2, "duplicate 'secure-exec' setting");
	bad("secure-exec maybe\n", 1, "'secure-exec' must be yes or no, not 'maybe'");
	good("heap-step 16M\n", "heap-step");
	is_int(P.heap_step, 16 << 20, "heap-step 16M");
	good("heap-step 64K\n", "heap-step lower bound");
	good("heap-step 1G\n", "heap-step upper bound");
	good("program /usr/bin/python3* python3*\n", "program with two globs");
	is_int(P.nprograms, 2, "two program globs");
	good("\xef\xbb\xbfmode off\n", "UTF-8 byte order mark");
	good("# caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n", "UTF-8 in a comment");
	good("\tmode\t\tprocess\t\n", "tabs as blanks");
	good("program a#b\n", "'#' inside a word is not a comment");
	ok(P.nprograms == 1 && P.programs[0].len == 3, "glob a#b kept whole");

	good("merge heap\n", "merge one kind");
	ok(P.nrules == 1 && P.rules[0].action == KSMP_ACT_MERGE &&
	   P.rules[0].kinds == 1u << KSMP_KIND_HEAP && P.rules[0].min_size == 0 &&
	   P.rules[0].max_size == UINT64_MAX && !P.rules[0].prot_set &&
	   !P.rules[0].ncallers && P.rules[0].line == 1, "merge heap compiled");
	good("skip heap,arena,chunk,mmap,file,stack,data\n", "skip all kinds by name");
	ok(P.rules[0].action == KSMP_ACT_SKIP && P.rules[0].kinds == 0x7f,
	   "kind list compiled");
	good("merge data\n", "merge data");
	ok(P.rules[0].kinds == 1u << KSMP_KIND_DATA &&
	   P.kinds_merged == 1u << KSMP_KIND_DATA, "data is a kind of its own");
	good("merge any\n", "merge any");
	ok(P.rules[0].kinds == 0x7f && P.kinds_merged == 0x7f, "any = every kind");
	good("skip caller=libcrypto.so*\n", "conditions without a kind list");
	ok(P.rules[0].kinds == 0x7f && P.rules[0].ncallers == 1 && P.has_caller_rules,
	   "no kind list means any");
	good("merge mmap min=64K max=1G prot=rw caller=libfoo.so* caller=/opt/*/libbar.so\n",
	     "all conditions");
	ok(P.rules[0].min_size == 64 << 10 && P.rules[0].max_size == 1 << 30 &&
	   P.rules[0].prot_set && P.rules[0].prot_val == (KSMP_PROT_R | KSMP_PROT_W) &&
	   P.rules[0].ncallers == 2, "conditions compiled");
	good("merge mmap prot=none\nmerge mmap prot=rwx\nmerge mmap prot=r-x\nmerge mmap prot=xr\n",
	     "prot forms");
	ok(P.rules[0].prot_val == 0 && P.rules[1].prot_val == 7 &&
	   P.rules[2].prot_val == 5 && P.rules[3].prot_val == 5, "prot values");
	good("merge mmap min=1M max=1M\n", "min equal to max");
	good("merge chunk\nmerge heap\nskip stack\n", "kinds_merged");
	ok(P.kinds_merged == ((1u << KSMP_KIND_CHUNK) | (1u << KSMP_KIND_HEAP)),
	   "kinds_merged has only merge rules' kinds");
	ok(!P.has_caller_rules, "no caller rules");
}

static void test_errors(void)
{
	bad("frobnicate 1\n", 1, "unknown keyword 'frobnicate'");
	bad("Mode process\n", 1, "unknown keyword 'Mode'");
	bad("mode\n", 1, "'mode' needs a value");
	bad("mode process regions\n", 1, "'mode' takes one value; extra argument 'regions'");
	bad("mode fast\n", 1, "unknown mode 'fast'");
	bad("log\n", 1, "'log' needs a value");
	bad("log loud\n", 1, "unknown log level 'loud'");
	bad("strict maybe\n", 1, "'strict' must be yes or no, not 'maybe'");
	bad("control 1\n", 1, "'control' must be yes or no, not '1'");
	bad("strict\n", 1, "'strict' needs a value");
	bad("name\n", 1, "'name' needs a value");
	bad("name a b\n", 1, "extra argument 'b'");
	bad("name 0123456789012345678901234567890123456789012345678901234567890123\n",
	    1, "is too long");
	bad("heap-step\n", 1, "'heap-step' needs a value");
	bad("heap-step lots\n", 1, "bad size 'lots' for heap-step");
	bad("heap-step 4K\n", 1, "heap-step '4K' out of range");
	bad("heap-step 2G\n", 1, "heap-step '2G' out of range");
	bad("heap-step 99999999999999999999\n", 1, "too large");
	bad("program\n", 1, "'program' needs at least one glob");
	bad("program a[b\n", 1, "bad glob 'a[b': unterminated '['");
	bad("program ab\\\n", 1, "trailing backslash");
	bad("program a\nprogram b\n", 2, "duplicate program line (first given on line 1)");
	bad("mode off\n\nmode process\n", 3, "duplicate 'mode' setting (first given on line 1)");
	bad("name a\nname b\n", 2, "duplicate 'name' setting");
	bad("log info\nlog info\n", 2, "duplicate 'log' setting");
	bad("strict no\nstrict no\n", 2, "duplicate 'strict' setting");
	bad("control no\ncontrol no\n", 2, "duplicate 'control' setting");
	bad("heap-step 8M\nheap-step 8M\n", 2, "duplicate 'heap-step' setting");
	bad("merge\n", 1, "'merge' needs a kind list");
	bad("skip\n", 1, "'skip' needs a kind list");
	bad("merge heapp\n", 1, "unknown kind 'heapp'");
	bad("merge heap,,arena\n", 1, "empty kind in list");
	bad("merge heap,\n", 1, "empty kind in list");
	bad("merge heap arena\n", 1, "unexpected 'arena'");
	bad("merge min=1M heap\n", 1, "unexpected 'heap' (the kind list comes first)");
	bad("merge mmap min=12Q\n", 1, "bad size '12Q' for min=");
	bad("merge mmap max=\n", 1, "bad size '' for max=");
	bad("merge mmap min=99999999999G\n", 1, "size '99999999999G' for min=: too large");
	bad("merge mmap min=2M max=1M\n", 1, "min=2M is larger than max=1M");
	bad("merge mmap min=1M min=2M\n", 1, "duplicate 'min=' in one rule");
	bad("merge mmap max=1M max=2M\n", 1, "duplicate 'max=' in one rule");
	bad("merge mmap prot=rw prot=r\n", 1, "duplicate 'prot=' in one rule");
	bad("merge mmap prot=rq\n", 1, "bad prot 'rq'");
	bad("merge mmap prot=rr\n", 1, "bad prot 'rr'");
	bad("merge mmap prot=\n", 1, "bad prot ''");
	bad("merge mmap caller=\n", 1, "bad caller= glob '': empty glob");
	bad("merge mmap caller=lib[x\n", 1, "bad caller= glob 'lib[x': unterminated '['");
	bad("merge mmap size=1M\n", 1, "unknown condition 'size=1M'");
	bad("merge mmap caller=a caller=b caller=c caller=d caller=e caller=f "
	    "caller=g caller=h caller=i\n", 1, "too many caller= globs in one rule (at most 8");
	bad("mode \x01off\n", 1, "binary data (control byte 0x01 in column 6)");
	bad("mode off\nab\x7f\n", 2, "binary data (control byte 0x7f");
	bad("mode a\rb\n", 1, "control byte 0x0d");
	bad("# \xc3\x28\n", 1, "invalid UTF-8 in column 3");
	bad("# \xc0\xaf\n", 1, "invalid UTF-8");		/* overlong */
	bad("# \xed\xa0\x80\n", 1, "invalid UTF-8");		/* surrogate */
	bad("# \xe2\x82\n", 1, "invalid UTF-8");		/* truncated */
	bad("# \xf5\x80\x80\x80\n", 1, "invalid UTF-8");	/* > U+10FFFF */

	/* NUL byte: strlen() cannot be used for this one. */
	static const char nul[] = "mode off\nmo\0de off\nlog info\n";
	diags[0] = '\0';
	ndiags = 0;
	int n = ksmp_policy_parse(&P, "t.policy", nul, sizeof nul - 1, collect, NULL);
	ok(n == 1 && strstr(diags, "t.policy:2: binary data (NUL byte in column 3)") &&
	   P.loglevel == KSMP_LOG_INFO, "NUL byte reported, parsing goes on");

	/* Line too long: 1024 bytes are fine, 1025 are not. */
	static char longline[3000];
	memset(longline, ' ', sizeof longline);
	memcpy(longline, "mode off", 8);
	longline[1024] = '\n';
	longline[1025] = '\0';
	good(longline, "a line of exactly 1024 bytes");
	longline[1024] = ' ';
	longline[1025] = '\n';
	longline[1026] = '\0';
	bad(longline, 1, "line too long (more than 1024 bytes)");
	longline[1025] = '\r';
	longline[1026] = '\n';
	longline[1027] = '\0';
	bad(longline, 1, "line too long");

	/* Capacity: 64 rules, 16 program globs, 4096 bytes of globs. */
	static char many[8192];
	many[0] = '\0';
	for (int i = 0; i < 65; i++)
		strcat(many, "merge heap\n");
	bad(many, 65, "too many rules (at most 64)");
	ok(P.nrules == 64, "64 rules kept");
	strcpy(many, "program");
	for (int i = 0; i < 17; i++)
		strcat(many, " g");
	strcat(many, "\n");
	bad(many, 1, "too many program globs (at most 16)");
	ok(P.nprograms == 0, "a bad program line is left out");
	many[0] = '\0';
	for (int i = 0; i < 5; i++) {
		char line[1100] = "skip any caller=";
		memset(line + 16, 'a' + i, 1000);
		strcpy(line + 1016, "\n");
		strcat(many, line);
	}
	bad(many, 5, "all globs together must fit in 4096 bytes");
	ok(P.nrules == 4 && P.pool_used <= KSMP_POLICY_STRPOOL, "4 rules fit in the pool");

	/* Several problems on one line are all reported. */
	n = parse("merge heapp min=x prot=q\n");
	ok(n == 3 && ndiags == 3, "three problems on one line, three reports");

	/* A file with three different mistakes: three reports, the good
	 * lines kept. */
	n = parse("name ok\nmode fast\nmerge heap\nmerge mmap min=12Q\nfrobnicate\nskip stack\n");
	ok(n == 3 && strstr(diags, "t.policy:2: ") && strstr(diags, "t.policy:4: ") &&
	   strstr(diags, "t.policy:5: "), "three mistakes, three file:line reports");
	ok(P.nrules == 2 && P.rules[0].line == 3 && P.rules[1].line == 6 &&
	   P.mode == KSMP_MODE_REGIONS, "good lines kept, bad ones left out");

	/* A binary file stops after a bounded number of reports. */
	static char bin[20000];
	for (size_t i = 0; i < sizeof bin; i++)
		bin[i] = (i % 7) ? (char)1 : '\n';
	diags[0] = '\0';
	ndiags = 0;
	n = ksmp_policy_parse(&P, "t.policy", bin, sizeof bin, collect, NULL);
	ok(n > 50 && n <= 101 && ndiags == (unsigned)n &&
	   strstr(diags, "too many problems, giving up"), "binary file: bounded reports (%d)", n);
	ok(ksmp_policy_parse(&P, "t.policy", NULL, 0, NULL, NULL) == 0,
	   "NULL text, no callback");
}

static void test_match(void)
{
	enum ksmp_action a;

	good("skip any caller=libcrypto.so* caller=/opt/*/libsecret.so\n"
	     "skip stack\n"
	     "merge mmap min=64K max=1M prot=rw\n"
	     "merge mmap min=4M\n"
	     "merge heap,arena\n"
	     "skip chunk max=1M\n"
	     "merge chunk\n", "matcher policy");
	is_int(match(&P, KSMP_KIND_HEAP, 1 << 20, 3, NULL, &a), 4, "heap -> rule 5");
	is_int(a, KSMP_ACT_MERGE, "heap merged");
	is_int(match(&P, KSMP_KIND_ARENA, 64 << 20, 0, NULL, &a), 4, "arena -> rule 5");
	a = KSMP_ACT_MERGE;
	is_int(match(&P, KSMP_KIND_STACK, 8 << 20, 3, NULL, &a), 1, "stack -> skip rule");
	is_int(a, KSMP_ACT_SKIP, "stack skipped");
	is_int(match(&P, KSMP_KIND_MMAP, 64 << 10, 3, "libfoo.so", &a), 2, "mmap min bound inclusive");
	is_int(match(&P, KSMP_KIND_MMAP, (64 << 10) - 1, 3, "libfoo.so", &a), -1, "mmap below min: no rule");
	is_int(a, KSMP_ACT_SKIP, "no match means skip");
	is_int(match(&P, KSMP_KIND_MMAP, 1 << 20, 3, NULL, &a), 2, "mmap max bound inclusive");
	is_int(match(&P, KSMP_KIND_MMAP, (1 << 20) + 4096, 3, NULL, &a), -1, "between rules: no match");
	is_int(match(&P, KSMP_KIND_MMAP, 512 << 10, 1, NULL, &a), -1, "prot r != rw");
	is_int(match(&P, KSMP_KIND_MMAP, 512 << 10, 7, NULL, &a), -1, "prot rwx != rw");
	is_int(match(&P, KSMP_KIND_MMAP, 512 << 10, 3 | 0x8, NULL, &a), 2,
	       "prot bits beyond rwx ignored");
	is_int(match(&P, KSMP_KIND_MMAP, 8 << 20, 0, NULL, &a), 3, "big mmap, any prot");
	is_int(match(&P, KSMP_KIND_MMAP, 8 << 20, 3, "/usr/lib/x86_64-linux-gnu/libcrypto.so.3", &a),
	       0, "crypto caller by path: basename glob");
	is_int(a, KSMP_ACT_SKIP, "crypto memory skipped");
	is_int(match(&P, KSMP_KIND_CHUNK, 8 << 20, 3, "libcrypto.so.3", &a), 0,
	       "crypto caller by name");
	is_int(match(&P, KSMP_KIND_CHUNK, 8 << 20, 3, "/opt/x/libsecret.so", &a), 0,
	       "glob with '/' matched against the whole path");
	is_int(match(&P, KSMP_KIND_CHUNK, 8 << 20, 3, "libsecret.so", &a), 6,
	       "glob with '/' does not match a bare name");
	is_int(match(&P, KSMP_KIND_CHUNK, 1 << 20, 3, NULL, &a), 5, "first match wins (skip chunk)");
	is_int(match(&P, KSMP_KIND_CHUNK, 2 << 20, 3, NULL, &a), 6, "later rule");
	is_int(a, KSMP_ACT_MERGE, "chunk merged");
	is_int(match(&P, KSMP_KIND_FILE, 2 << 20, 1, NULL, &a), -1, "file: no rule");
	is_int(match(&P, (enum ksmp_kind)99, 2 << 20, 1, NULL, &a), -1, "bad kind: no rule");
	is_int(match(&P, KSMP_KIND_HEAP, 0, 3, NULL, NULL), 4, "NULL action pointer");

	good("merge any caller=libpython3*\n", "caller-only merge");
	is_int(match(&P, KSMP_KIND_HEAP, 1, 3, NULL, &a), -1, "caller rule never matches an unknown caller");
	is_int(match(&P, KSMP_KIND_MMAP, 1, 3, "libpython3.11.so.1.0", &a), 0, "caller matched");

	good("program /usr/bin/python3* node\n", "program globs");
	ok(ksmp_policy_matches_program(&P, "/usr/bin/python3.11", NULL), "exe path glob");
	ok(!ksmp_policy_matches_program(&P, "/usr/local/bin/python3.11", "python3"),
	   "path glob not matched against argv0");
	ok(ksmp_policy_matches_program(&P, "/usr/local/bin/node", NULL), "name glob on exe basename");
	ok(ksmp_policy_matches_program(&P, "/opt/x/bin/whatever", "./node"), "name glob on argv0 basename");
	ok(!ksmp_policy_matches_program(&P, "/usr/bin/nodejs", "nodejs"), "no match");
	ok(!ksmp_policy_matches_program(&P, NULL, NULL), "NULL exe and argv0");
	good("mode off\n", "no program line");
	ok(!ksmp_policy_matches_program(&P, "/bin/true", "true"), "no program line matches nothing");
}

static void test_format(void)
{
	static char text[16384], text2[16384];
	static const char *const inputs[] = {
		"name x\nprogram /a/b* c?d [a-z]*\nmode process\nlog debug\nstrict yes\n"
		"control no\nsecure-exec yes\nheap-step 3M\nmerge heap,chunk min=4097 max=2G prot=r-x "
		"caller=libz.so* caller=/x/\\*y\nskip any\nmerge mmap prot=none min=1K\n",
		"", "mode off\nmerge stack,file,arena max=0\n",
		"skip any caller=a\nmerge any min=17179869183G\nheap-step 65537\n",
	};
	for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
		ok(parse(inputs[i]) == 0, "format input %zu valid", i);
		size_t n = ksmp_policy_format(&P, text, sizeof text);
		ok(n == strlen(text), "format %zu returns its length", i);
		diags[0] = '\0';
		int r = ksmp_policy_parse(&Q, "u.policy", text, n, collect, NULL);
		ok(r == 0 && same_policy(&P, &Q), "format %zu round trip", i);
		if (r || !same_policy(&P, &Q))
			diag("%s%s", text, diags);
		ksmp_policy_format(&Q, text2, sizeof text2);
		is_str(text2, text, "format %zu is a fixpoint", i);
	}
	parse(inputs[0]);
	size_t need = ksmp_policy_format(&P, text, sizeof text);
	char small[10];
	memset(small, 'X', sizeof small);
	size_t n2 = ksmp_policy_format(&P, small, sizeof small);
	ok(n2 == need && small[9] == '\0' && !strncmp(small, text, 9),
	   "format truncates like snprintf");
	ok(ksmp_policy_format(&P, NULL, 0) == need, "format with no buffer returns the length");
	ok(strstr(text, "merge heap,chunk min=4097 max=2G prot=rx caller=libz.so* caller=/x/\\*y\n") != NULL,
	   "canonical rule text");
}

static void test_default(void)
{
	static char buf[KSMP_POLICY_MAX_FILE + 1];
	char path[4096];
	const char *src = getenv("KSMP_SRCDIR");

	ksmp_policy_default(&P);
	is_str(P.source, "built-in default", "default source");
	is_str(P.name, "default", "default name");
	ok(P.mode == KSMP_MODE_AUTO && P.nprograms == 0, "default: auto, no program line");
	ok((P.kinds_merged & ((1u << KSMP_KIND_HEAP) | (1u << KSMP_KIND_ARENA) |
			      (1u << KSMP_KIND_STACK))) &&
	   !(P.kinds_merged & (1u << KSMP_KIND_FILE)),
	   "default merges heap, arenas and thread stacks, never files");
	enum ksmp_action a;
	match(&P, KSMP_KIND_STACK, 8 << 20, 3, NULL, &a);
	ok(a == KSMP_ACT_MERGE, "default merges a thread stack");
	match(&P, KSMP_KIND_FILE, 8 << 20, 3, "myprog", &a);
	ok(a == KSMP_ACT_SKIP, "default skips a private file mapping");
	match(&P, KSMP_KIND_CHUNK, 1 << 20, 3, "libcrypto.so.3", &a);
	ok(a == KSMP_ACT_SKIP, "default skips crypto chunks");
	match(&P, KSMP_KIND_MMAP, 8 << 20, 3, "libsodium.so.23", &a);
	ok(a == KSMP_ACT_SKIP, "default skips libsodium mmaps");
	match(&P, KSMP_KIND_MMAP, 8 << 20, 3, "/usr/lib/x86_64-linux-gnu/libnss3.so", &a);
	ok(a == KSMP_ACT_SKIP, "default skips nss mmaps");
	match(&P, KSMP_KIND_MMAP, 8 << 20, 3, "libgnutls.so.30", &a);
	ok(a == KSMP_ACT_SKIP, "default skips gnutls mmaps");
	match(&P, KSMP_KIND_MMAP, 8 << 20, 3, "myprog", &a);
	ok(a == KSMP_ACT_MERGE, "default merges a big rw mmap");
	match(&P, KSMP_KIND_MMAP, 8 << 20, 7, "myprog", &a);
	ok(a == KSMP_ACT_SKIP, "default skips a big rwx mmap");
	match(&P, KSMP_KIND_CHUNK, 1 << 20, 3, NULL, &a);
	ok(a == KSMP_ACT_MERGE, "default merges a large chunk");
	match(&P, KSMP_KIND_HEAP, 4096, 3, "libcrypto.so.3", &a);
	ok(a == KSMP_ACT_SKIP, "default skips the crypto callers' heap");
	match(&P, KSMP_KIND_MMAP, 64 << 10, 5, "myprog", &a);
	ok(a == KSMP_ACT_SKIP, "default skips code (r-x mmap)");
	match(&P, KSMP_KIND_DATA, 4096, 3, "libc.so.6", &a);
	ok(a == KSMP_ACT_MERGE, "default merges an object's static data");
	match(&P, KSMP_KIND_DATA, 1 << 20, 3, "libcrypto.so.3", &a);
	ok(a == KSMP_ACT_SKIP, "default skips a crypto library's static data");
	match(&P, KSMP_KIND_DATA, 1 << 20, 3, "libgnutls.so.30", &a);
	ok(a == KSMP_ACT_SKIP, "default skips gnutls's static data");

	/* the default of programs in secure execution: the former default */
	ksmp_policy_default_secure(&Q);
	is_str(Q.name, "default-secure", "secure default name");
	ok(Q.mode == KSMP_MODE_REGIONS && Q.nprograms == 0, "secure default: regions");
	ok(!(Q.kinds_merged & ((1u << KSMP_KIND_HEAP) | (1u << KSMP_KIND_ARENA) |
			       (1u << KSMP_KIND_STACK) | (1u << KSMP_KIND_FILE) |
			       (1u << KSMP_KIND_DATA))),
	   "secure default never merges heap, arena, stack, file, data");
	match(&Q, KSMP_KIND_CHUNK, 1 << 20, 3, "libcrypto.so.3", &a);
	ok(a == KSMP_ACT_SKIP, "secure default skips crypto chunks");
	match(&Q, KSMP_KIND_CHUNK, 1 << 20, 3, NULL, &a);
	ok(a == KSMP_ACT_MERGE, "secure default merges a large chunk");
	match(&Q, KSMP_KIND_MMAP, 512 << 10, 3, "myprog", &a);
	ok(a == KSMP_ACT_SKIP, "secure default skips an rw mmap under 1M");

	if (!src) {
		tap_skip(3, "KSMP_SRCDIR not set");
		return;
	}
	snprintf(path, sizeof path, "%s/policy/default.policy", src);
	diags[0] = '\0';
	int r = ksmp_policy_load(&Q, path, buf, sizeof buf, collect, NULL);
	ok(r == 0, "policy/default.policy loads");
	ok(same_policy(&P, &Q), "built-in default == policy/default.policy");
	/* the library's crypto heap trusts this mark to skip a second parse
	 * of the built-in rules: only ksmp_policy_default sets it */
	ok(P.builtin_rules == 1 && Q.builtin_rules == 0,
	   "builtin_rules: set by the built-in default only, not by the same text from a file");
}

int main(void)
{
	test_sizes();
	test_glob();
	test_defaults_and_keywords();
	test_errors();
	test_match();
	test_format();
	test_default();
	tap_plan(tap_n_);	/* trailing plan: TAP allows it */
	return tap_done();
}
