/*
 * policy_names.c - the name tables are defined once (policy/names.c),
 * and where a compiler cannot tie them to their other uses, this test
 * does: every region kind, mode and engine name has an entry in
 * ksmpreload.policy(5) (kinds as ".It Cm NAME", modes on the "mode" line)
 * and in the fuzzer's dictionary; every name is distinct; out-of-range
 * values read "unknown".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "ksmp_state.h"
#include "../tap.h"

static char *slurp(const char *dir, const char *rel)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = malloc(1 << 20);
	size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
	fclose(f);
	if (buf)
		buf[n] = '\0';
	return buf;
}

static int has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)); p += n)
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == ' '))
			return 1;
	return 0;
}

int main(void)
{
	const char *src = getenv("KSMP_SRCDIR");
	if (!src)
		src = ".";
	char *man = slurp(src, "man/ksmpreload.policy.5");
	char *dict = slurp(src, "policy/fuzz-policy.dict");
	if (!man || !dict) {
		printf("1..0 # SKIP sources not found under %s\n", src);
		return tap_require() ? 1 : 0;
	}
	tap_plan(KSMP_KIND_COUNT * 2 + 3 * 2 + 4);
	char want[128];
	for (int k = 0; k < KSMP_KIND_COUNT; k++) {
		const char *nm = ksmp_kind_name((enum ksmp_kind)k);
		snprintf(want, sizeof(want), ".It Cm %s", nm);
		ok(has_line(man, want), "kind %s is documented (%s)", nm, want);
		snprintf(want, sizeof(want), "\"%s\"", nm);
		ok(strstr(dict, want) != NULL, "kind %s is in the fuzz dictionary", nm);
	}
	const char *modeline = strstr(man, ".It Ic mode Cm ");
	for (int m = 0; m < 3; m++) {
		const char *nm = ksmp_mode_name((enum ksmp_mode)m);
		const char *eol = modeline ? strchr(modeline, '\n') : NULL;
		const char *at = modeline ? strstr(modeline, nm) : NULL;
		ok(at && eol && at < eol, "mode %s is on the man page's mode line", nm);
		snprintf(want, sizeof(want), "\"%s\"", nm);
		ok(strstr(dict, want) != NULL, "mode %s is in the fuzz dictionary", nm);
	}
	int distinct = 1;
	for (int a = 0; a < KSMP_KIND_COUNT; a++)
		for (int b = a + 1; b < KSMP_KIND_COUNT; b++)
			distinct &= strcmp(ksmp_kind_name((enum ksmp_kind)a),
					   ksmp_kind_name((enum ksmp_kind)b)) != 0;
	ok(distinct, "kind names are distinct");
	ok(!strcmp(ksmp_engine_name(KSMP_ENGINE_PROCESS), ksmp_mode_name(KSMP_MODE_PROCESS)) &&
	   !strcmp(ksmp_engine_name(KSMP_ENGINE_REGIONS), ksmp_mode_name(KSMP_MODE_REGIONS)) &&
	   !strcmp(ksmp_engine_name(KSMP_ENGINE_OFF), ksmp_mode_name(KSMP_MODE_OFF)),
	   "each engine is named like the mode that asks for it");
	ok(!strcmp(ksmp_kind_name(KSMP_KIND_COUNT), "unknown") &&
	   !strcmp(ksmp_mode_name((enum ksmp_mode)99), "unknown") &&
	   !strcmp(ksmp_engine_name(99), "unknown"),
	   "out-of-range values read \"unknown\"");
	ok(KSMP_STATE_KINDS >= KSMP_KIND_COUNT, "the state block counts every kind");
	free(man);
	free(dict);
	return tap_done();
}
