/*
 * cmd_ksm.c - `ksmpreload ksm`: show ksmd's knobs and counters with their
 * meaning and units, and change the knobs with validation.
 *
 *   ksmpreload ksm [show]
 *   ksmpreload ksm on | off [--unmerge-all]
 *   ksmpreload ksm set KEY=VALUE...
 *   ksmpreload ksm apply [FILE]        (default $sysconfdir/ksmpreload/ksm.conf)
 *
 * Every value is checked against the knob's type and range before anything
 * is written, so a bad line changes nothing. run=2 (stop ksmd and unmerge
 * every merged page on the machine) is only written by `off --unmerge-all`.
 * ksmp_warn_ksmd() is the warning the other subcommands print when ksmd
 * is not running.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "ksmp_ksmd.h"
#include "ksmp_util.h"

#ifndef KSMP_KSMCONF
#define KSMP_KSMCONF "/etc/ksmpreload/ksm.conf"
#endif

static int read_sysfs(const char *name, char *buf, size_t size)
{
	char path[256];
	snprintf(path, sizeof path, KSMP_KSM_SYSFS "/%s", name);
	ssize_t n = ksmp_read_small(path, buf, size);
	if (n < 0)
		return (int)n;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int write_sysfs(const char *name, const char *val)
{
	char path[256];
	snprintf(path, sizeof path, KSMP_KSM_SYSFS "/%s", name);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, val, strlen(val));
	int err = errno;
	close(fd);
	return n < 0 ? -err : 0;
}

void ksmp_warn_ksmd(const char *what)
{
	int run = ksmp_ksmd_run();
	if (run == 1)
		return;
	if (run < 0)
		fprintf(stderr, "ksmpreload: warning: %s: KSM is not available "
			"(" KSMP_KSM_SYSFS "/run: %s): nothing will be merged\n",
			what, strerror(-run));
	else
		fprintf(stderr, "ksmpreload: warning: %s: ksmd is not running "
			"(" KSMP_KSM_SYSFS "/run is %d): nothing will be merged until "
			"it is started, e.g. with 'ksmpreload ksm on' as root\n", what, run);
}

/* ------------------------------------------------------------------ show */
static int show(void)
{
	char val[128];
	int run = ksmp_ksmd_run();
	if (run < 0) {
		fprintf(stderr, "ksmpreload ksm: " KSMP_KSM_SYSFS "/run: %s "
			"(a kernel without KSM?)\n", strerror(-run));
		return 1;
	}
	printf("ksmd %s (run %d)%s\n\n", run == 1 ? "running" : "stopped", run,
	       run == 1 ? "" : ": nothing merges; 'ksmpreload ksm on' starts it");
	printf("%-36s %-17s %-8s %s\n", "KNOB", "VALUE", "UNIT", "MEANING");
	bool counters = false;
	for (size_t i = 0; i < ksmp_nknobs; i++) {
		const struct ksmp_knob *k = &ksmp_knobs[i];
		if (read_sysfs(k->name, val, sizeof val) < 0)
			continue;	/* not in this kernel */
		if (k->type == KSMP_KNOB_COUNTER && !counters) {
			printf("\n%-36s %-17s %-8s %s\n", "COUNTER", "VALUE", "UNIT",
			       "MEANING");
			counters = true;
		}
		printf("%-36s %-17s %-8s %s\n", k->name, val, k->unit, k->meaning);
	}
	return 0;
}

/* --------------------------------------------------------------- setting */
struct setting {
	const struct ksmp_knob *k;
	char value[32];
};

/* Check "KEY=VALUE" (from where, for messages); fill s. 0 or -1 after
 * saying why. */
static int parse_setting(const char *where, const char *kv, struct setting *s)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv) {
		fprintf(stderr, "%s: '%s': expected KEY=VALUE\n", where, kv);
		return -1;
	}
	s->k = ksmp_knob_find(kv, (size_t)(eq - kv));
	if (!s->k) {
		fprintf(stderr, "%s: unknown knob '%.*s' (see 'ksmpreload ksm show')\n",
			where, (int)(eq - kv), kv);
		return -1;
	}
	const char *v = eq + 1;
	if (s->k->type == KSMP_KNOB_COUNTER) {
		fprintf(stderr, "%s: %s is a counter, not a knob\n", where, s->k->name);
		return -1;
	}
	if (s->k->type == KSMP_KNOB_ENUM) {
		if (strcmp(v, "none") && strcmp(v, "scan-time")) {
			fprintf(stderr, "%s: %s must be none or scan-time, not '%s'\n",
				where, s->k->name, v);
			return -1;
		}
		snprintf(s->value, sizeof s->value, "%s", v);
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (!*v || *end || *v == '-' || *v == '+' || errno) {
		fprintf(stderr, "%s: %s needs a whole number, not '%s'\n", where,
			s->k->name, v);
		return -1;
	}
	if (s->k->type == KSMP_KNOB_RUN && n == 2) {
		fprintf(stderr, "%s: run=2 stops ksmd and unmerges every merged page "
			"on the machine; ask for it with 'ksmpreload ksm off --unmerge-all'\n",
			where);
		return -1;
	}
	if (n < s->k->min || n > s->k->max) {
		fprintf(stderr, "%s: %s must be %llu to %llu%s%s, not %s\n", where,
			s->k->name, s->k->min, s->k->max, *s->k->unit ? " " : "",
			s->k->unit, v);
		return -1;
	}
	snprintf(s->value, sizeof s->value, "%llu", n);
	return 0;
}

/* Write the settings, in order; report each change. */
static int write_all(const struct setting *s, size_t n)
{
	int ret = 0;
	for (size_t i = 0; i < n; i++) {
		char old[128] = "?";
		read_sysfs(s[i].k->name, old, sizeof old);
		int r = write_sysfs(s[i].k->name, s[i].value);
		if (r < 0) {
			fprintf(stderr, "ksmpreload ksm: %s=%s: %s%s\n", s[i].k->name,
				s[i].value, strerror(-r),
				r == -EACCES || r == -EPERM ? " (needs root)" :
				r == -EBUSY ? " (only while no page is merged)" : "");
			ret = 1;
			continue;
		}
		printf("%s: %s -> %s\n", s[i].k->name, old, s[i].value);
	}
	return ret;
}

#define MAX_SETTINGS 64

static int cmd_set(int argc, char **argv)
{
	struct setting s[MAX_SETTINGS];
	size_t n = 0;
	int bad = 0;
	if (argc < 1) {
		fprintf(stderr, "ksmpreload ksm set: no KEY=VALUE given\n");
		return 2;
	}
	for (int i = 0; i < argc; i++) {
		if (n == MAX_SETTINGS) {
			fprintf(stderr, "ksmpreload ksm set: too many settings\n");
			return 2;
		}
		if (parse_setting("ksmpreload ksm set", argv[i], &s[n]) < 0)
			bad = 1;
		else
			n++;
	}
	return bad ? 1 : write_all(s, n);
}

/* ksm.conf: KEY=VALUE lines, blanks around them, '#' comments. */
static int cmd_apply(const char *file)
{
	FILE *f = fopen(file, "re");
	if (!f) {
		fprintf(stderr, "ksmpreload ksm apply: %s: %s\n", file, strerror(errno));
		return 1;
	}
	struct setting s[MAX_SETTINGS];
	size_t n = 0;
	int bad = 0;
	char line[512], where[PATH_MAX + 32];
	for (unsigned ln = 1; fgets(line, sizeof line, f); ln++) {
		char *p = line + strspn(line, " \t");
		char *hash = strchr(p, '#');
		if (hash)
			*hash = '\0';
		size_t len = strlen(p);
		while (len && strchr(" \t\r\n", p[len - 1]))
			p[--len] = '\0';
		if (!len)
			continue;
		snprintf(where, sizeof where, "%s:%u", file, ln);
		if (n == MAX_SETTINGS) {
			fprintf(stderr, "%s: too many settings\n", where);
			bad = 1;
			break;
		}
		if (parse_setting(where, p, &s[n]) < 0)
			bad = 1;
		else
			n++;
	}
	fclose(f);
	if (bad) {
		fprintf(stderr, "ksmpreload ksm apply: %s: nothing changed\n", file);
		return 1;
	}
	return write_all(s, n);
}

static void usage(FILE *out);

/* A sysfs counter of ksmd's, or 0. */
static long long ksm_counter(const char *name)
{
	char buf[64];
	return read_sysfs(name, buf, sizeof(buf)) == 0 ? strtoll(buf, NULL, 10) : 0;
}

/* off [--unmerge-all [--force] [--margin MIB]]. run=2 gives every page
 * mapped from a KSM page (pages_sharing, and the zero pages KSM mapped)
 * its own copy again: refuse when that leaves less than the margin of the
 * host's MemAvailable, as mergefs and detach refuse a process's unmerge. */
static int cmd_off(int argc, char **argv)
{
	bool all = false, force = false;
	long long margin = 64ll << 20;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--unmerge-all")) {
			all = true;
		} else if (!strcmp(argv[i], "--force") || !strcmp(argv[i], "-f")) {
			force = true;
		} else if (!strcmp(argv[i], "--margin") && i + 1 < argc) {
			char *end;
			errno = 0;
			long long mib = strtoll(argv[++i], &end, 10);
			if (errno || end == argv[i] || *end || mib < 0 || mib > 1 << 20) {
				fprintf(stderr, "ksmpreload ksm: --margin takes 0 to 1048576 MiB\n");
				return 2;
			}
			margin = mib << 20;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!all && (force || margin != 64ll << 20)) {
		fprintf(stderr, "ksmpreload ksm: --force and --margin go with --unmerge-all\n");
		return 2;
	}
	struct setting s = { ksmp_knob_find("run", 3), "0" };
	if (all) {
		long long need = (ksm_counter("pages_sharing") + ksm_counter("ksm_zero_pages")) *
				 sysconf(_SC_PAGESIZE);
		long long avail = ksmp_mem_available();
		if (!force && need > 0 && avail >= 0 && need > avail - margin) {
			fprintf(stderr, "ksmpreload ksm: unmerging every merged page needs %lld MiB; "
				"the host has %lld MiB available (margin %lld MiB): refused, "
				"nothing written (--force to do it anyway)\n",
				need >> 20, avail >> 20, margin >> 20);
			return 1;
		}
		strcpy(s.value, "2");
	}
	return write_all(&s, 1);
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: ksmpreload ksm [show]\n"
		"       ksmpreload ksm on | off [--unmerge-all [--force] [--margin MIB]]\n"
		"       ksmpreload ksm set KEY=VALUE...\n"
		"       ksmpreload ksm apply [FILE]\n"
		"\n"
		"Show ksmd's knobs and counters, start or stop ksmd, or set knobs\n"
		"(checked before anything is written). apply reads KEY=VALUE lines\n"
		"from FILE (default %s), as ksmpreload-ksm.service does at boot.\n"
		"off --unmerge-all also unmerges every merged page (run=2), unless\n"
		"that would leave less than --margin MiB (64) of the host's\n"
		"MemAvailable; --force skips that check.\n",
		KSMP_KSMCONF);
}

int ksmp_cmd_ksm(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "show";
	if (!strcmp(sub, "-h") || !strcmp(sub, "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(sub, "show") && argc <= 2)
		return show();
	if (!strcmp(sub, "on") && argc == 2) {
		struct setting s = { ksmp_knob_find("run", 3), "1" };
		return write_all(&s, 1);
	}
	if (!strcmp(sub, "off"))
		return cmd_off(argc - 2, argv + 2);
	if (!strcmp(sub, "set"))
		return cmd_set(argc - 2, argv + 2);
	if (!strcmp(sub, "apply") && argc <= 3)
		return cmd_apply(argc == 3 ? argv[2] : KSMP_KSMCONF);
	usage(stderr);
	return 2;
}
