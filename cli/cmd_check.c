/*
 * cmd_check.c - `ksmpreload check`: validate policy files and show what
 * each would do, and which policy a given program would get.
 *
 * Problems go to stderr as "file:line: message" (all of them); summaries
 * go to stdout. Exit 0 when every file is valid, 1 when one is invalid or
 * unreadable, 2 on a usage error.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "policy.h"

struct check_ctx {
	unsigned problems;
};

static void print_diag(void *ctx, const char *file, unsigned line,
		       const char *msg)
{
	struct check_ctx *c = ctx;
	if (c)
		c->problems++;
	if (!file)
		fprintf(stderr, "ksmpreload: %s\n", msg);
	else if (line)
		fprintf(stderr, "%s:%u: %s\n", file, line, msg);
	else
		fprintf(stderr, "%s: %s\n", file, msg);
}

static void check_usage(FILE *out)
{
	fprintf(out,
		"Usage: ksmpreload check [OPTION]... FILE...\n"
		"       ksmpreload check --program PATH [OPTION]... [FILE]...\n"
		"\n"
		"Validate ksmpreload policy files. Every problem is printed on stderr\n"
		"as FILE:LINE: MESSAGE; for each valid file a summary of what it does\n"
		"is printed on stdout.\n"
		"\n"
		"Options:\n"
		"  -p, --program PATH     also say whether each FILE's program line\n"
		"                         matches PATH (a path, or a command name\n"
		"                         looked up in $PATH), and which policy the\n"
		"                         library would choose for it\n"
		"  -d, --policy-dir DIR   policy directory for that choice (default:\n"
		"                         $KSMP_POLICY_DIR, else %s\n"
		"                         over %s)\n"
		"  -D, --vendor-dir DIR   vendor directory that --policy-dir overrides\n"
		"                         file by file (default: the built-in one)\n"
		"  -q, --quiet            print problems only, no summaries\n"
		"  -h, --help             show this help and exit\n"
		"  -V, --version          show the version and exit\n"
		"\n"
		"Exit status: 0 all files valid, 1 a file is invalid or unreadable,\n"
		"2 usage error. See ksmpreload.policy(5).\n",
		KSMP_POLICYDIR, KSMP_VENDORPOLICYDIR);
}

/* Each *.policy name of dir, resolved through the two directories: fn
 * gets the name, the file it stands for and ksmp_policy_lookup's result. */
struct walk {
	const char *dir, *admin, *vendor, *chosen, *exe, *argv0;
};

static void walk_dir(const struct walk *w,
		     void (*fn)(const struct walk *, const char *, const char *, int))
{
	DIR *d = opendir(w->dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		char path[PATH_MAX] = "";
		if (n <= 7 || e->d_name[0] == '.' || strcmp(e->d_name + n - 7, ".policy"))
			continue;
		int r = ksmp_policy_lookup(w->admin, w->vendor, e->d_name, path, sizeof path);
		fn(w, e->d_name, path, r);
	}
	closedir(d);
}

static void say_override(const struct walk *w, const char *name, const char *path, int r)
{
	if (r == KSMP_POLICY_MASKED)
		printf("  masked     %s/%s by %s/%s (empty or /dev/null)\n", w->vendor,
		       name, w->admin, name);
	else if (r == 0 && strncmp(path, w->vendor, strlen(w->vendor)))
		printf("  overridden %s/%s by %s\n", w->vendor, name, path);
}

/* The two directories, and every vendor file that an admin file overrides
 * or masks. */
static void report_dirs(const char *admin, const char *vendor,
			const char *admin_from, const char *vendor_from)
{
	printf("  policy directory %s (%s; its files override the vendor "
	       "directory's)\n  vendor directory %s (%s)\n", admin, admin_from,
	       vendor, vendor_from);
	struct walk w = { vendor, admin, vendor, NULL, NULL, NULL };
	walk_dir(&w, say_override);
}

/* A file of w->dir whose program line matches too, but that comes after
 * the chosen one: never used for this program. */
static void say_shadowed(const struct walk *w, const char *name, const char *path, int r)
{
	static struct ksmp_policy q;
	static char buf[KSMP_POLICY_MAX_FILE + 1];
	(void)name;
	if (r != 0 || strncmp(path, w->dir, strlen(w->dir)) || !strcmp(path, w->chosen))
		return;
	if (ksmp_policy_load(&q, path, buf, sizeof buf, NULL, NULL) == 0 &&
	    ksmp_policy_matches_program(&q, w->exe, w->argv0))
		printf("  shadowed   %s: its program line matches too, but %s "
		       "comes first in name order\n", path, w->chosen);
}

static void report_later_matches(const char *dir, const char *admin, const char *vendor,
				 const char *chosen, const char *exe, const char *argv0)
{
	struct walk w = { dir, admin, vendor, chosen, exe, argv0 };
	walk_dir(&w, say_shadowed);
}

static void print_rule(const struct ksmp_policy *p, unsigned i)
{
	char text[8192];
	ksmp_rule_format(p, i, text, sizeof text);
	printf("    %2u  line %-4u %s", i + 1, p->rules[i].line, text);
}

static const char *mode_text(unsigned m)
{
	switch (m) {
	case KSMP_MODE_OFF:
		return "off: nothing is merged (the library only reports)";
	case KSMP_MODE_PROCESS:
		return "process: the whole process is merged (PR_SET_MEMORY_MERGE);\n"
		       "             the rules are not used";
	case KSMP_MODE_AUTO:
		return "auto: the regions the rules select are advised MADV_MERGEABLE;\n"
		       "             mergefs's controller prunes the parts that do not merge";
	default:
		return "regions: the regions the rules select are advised MADV_MERGEABLE";
	}
}

/* Rule j can never match if an earlier rule without caller= matches
 * everything rule j could. Printed as warnings; they do not fail. */
static void warn_shadowed(const char *file, const struct ksmp_policy *p)
{
	for (unsigned j = 1; j < p->nrules; j++) {
		const struct ksmp_rule *b = &p->rules[j];
		for (unsigned i = 0; i < j; i++) {
			const struct ksmp_rule *a = &p->rules[i];
			if (!ksmp_rule_covers(a, b))
				continue;
			fprintf(stderr, "%s:%u: warning: this rule never matches: "
				"the rule on line %u matches everything it would\n",
				file, b->line, a->line);
			break;
		}
	}
}

/* A size as a policy file writes it: 4M, 64K, 1G, or bytes. */
static void print_size(unsigned long long v)
{
	if (v && v % (1u << 30) == 0)
		printf("%lluG", v >> 30);
	else if (v && v % (1u << 20) == 0)
		printf("%lluM", v >> 20);
	else if (v && v % (1u << 10) == 0)
		printf("%lluK", v >> 10);
	else
		printf("%llu", v);
}

/* Mode auto's bounds, with the chunk mergefs uses (at most
 * KSMP_AUTO_CHUNK_USED_MAX, whatever the file says). */
static void print_auto(const struct ksmp_policy *p)
{
	unsigned long long chunk = p->auto_chunk;
	printf("  auto       chunk ");
	if (chunk > KSMP_AUTO_CHUNK_USED_MAX) {
		print_size(KSMP_AUTO_CHUNK_USED_MAX);
		printf(" (auto-chunk ");
		print_size(chunk);
		printf(" capped: mergefs uses at most ");
		print_size(KSMP_AUTO_CHUNK_USED_MAX);
		printf(")");
	} else {
		print_size(chunk);
	}
	printf(", at most %u VMAs added, pruned memory probed again after %u s "
	       "(doubling)\n", p->auto_vmas, p->auto_reprobe);
}

static void print_summary(const char *file, const struct ksmp_policy *p,
			  const char *exe, const char *argv0)
{
	printf("%s: valid\n", file);
	printf("  name       %s\n", p->name);
	printf("  program   ");
	if (!p->nprograms)
		printf(" (none: chosen only through KSMP_POLICY or -p)");
	for (unsigned i = 0; i < p->nprograms; i++)
		printf(" %.*s", p->programs[i].len, p->pool + p->programs[i].off);
	printf("\n  mode       %s\n", mode_text(p->mode));
	printf("  settings   log %s, strict %s, control %s, inherited-merge %s, heap-step ",
	       ksmp_loglevel_name(p->loglevel), p->strict ? "yes" : "no",
	       p->control ? "yes" : "no", p->inherited_off ? "off" : "keep");
	print_size(p->heap_step);
	printf("\n");
	bool sel = p->mode == KSMP_MODE_REGIONS || p->mode == KSMP_MODE_AUTO;
	if (p->mode == KSMP_MODE_AUTO)
		print_auto(p);
	if (sel || p->nrules) {
		printf("  rules      %u, first match wins; no match means skip%s\n",
		       p->nrules, sel ? "" : " (unused in this mode)");
		for (unsigned i = 0; i < p->nrules; i++)
			print_rule(p, i);
		printf("  merges    ");
		if (!p->kinds_merged || !sel)
			printf(p->mode == KSMP_MODE_PROCESS ? " everything" : " nothing");
		for (int k = 0; k < KSMP_KIND_COUNT && sel; k++)
			if (p->kinds_merged & (1u << k))
				printf(" %s", ksmp_kind_name((enum ksmp_kind)k));
		printf("%s\n", p->kinds_merged && sel ?
		       " (where the rules allow)" : "");
	}
	if (exe)
		printf("  --program  %s%s%s: the program line %s\n", exe,
		       argv0 && strcmp(argv0, exe) ? " as " : "",
		       argv0 && strcmp(argv0, exe) ? argv0 : "",
		       ksmp_policy_matches_program(p, exe, argv0) ?
		       "matches" : "does not match");
}

/* Resolve --program: a path as given (made absolute when it exists), or
 * a name looked up in $PATH, as the loader would see it in
 * /proc/self/exe. */
static void resolve_program(const char *arg, char *exe, size_t exesz)
{
	char cand[PATH_MAX];

	snprintf(exe, exesz, "%s", arg);
	if (!strchr(arg, '/')) {
		const char *path = getenv("PATH");
		if (!path)
			return;
		while (*path) {
			size_t n = strcspn(path, ":");
			if (n && (size_t)snprintf(cand, sizeof cand, "%.*s/%s",
						  (int)n, path, arg) < sizeof cand &&
			    access(cand, X_OK) == 0) {
				arg = cand;
				break;
			}
			path += n + (path[n] == ':');
		}
		if (arg != cand)
			return;
	}
	char *real = realpath(arg, NULL);
	if (real) {
		snprintf(exe, exesz, "%s", real);
		free(real);
	}
}

static int show_selection(const char *exe, const char *argv0,
			  const char *dir_opt, const char *vendor_opt)
{
	static struct ksmp_policy p;
	static char buf[KSMP_POLICY_MAX_FILE + 1];
	struct check_ctx ctx = { 0 };
	const char *envp = getenv("KSMP_POLICY");
	const char *envd = getenv("KSMP_POLICY_DIR");
	const char *dir = dir_opt ? dir_opt : envd && *envd ? envd : NULL;

	if (envp && !*envp)
		envp = NULL;
	printf("selection for %s", exe);
	if (argv0 && strcmp(argv0, exe))
		printf(" (run as %s)", argv0);
	printf(":\n");
	const char *admin = dir_opt ? dir_opt : KSMP_POLICYDIR;
	int r;
	if (vendor_opt || !dir)
		r = ksmp_policy_select_dirs(&p, envp, admin, vendor_opt ? vendor_opt :
					    KSMP_VENDORPOLICYDIR, dir_opt != NULL, exe,
					    argv0, buf, sizeof buf, print_diag, &ctx);
	else
		r = ksmp_policy_select(&p, envp, dir, exe, argv0, buf, sizeof buf,
				       print_diag, &ctx);
	if (envp)
		printf("  KSMP_POLICY=%s is set: that file is used whatever its "
		       "program line says\n", envp);
	else if (vendor_opt || !dir)
		report_dirs(admin, vendor_opt ? vendor_opt : KSMP_VENDORPOLICYDIR,
			    dir_opt ? "--policy-dir" : "built in",
			    vendor_opt ? "--vendor-dir" : "built in");
	else
		printf("  policy directory %s (%s)\n", dir,
		       dir_opt ? "--policy-dir" : "KSMP_POLICY_DIR");
	if (r < 0 || r > 0) {
		printf("  chosen     %s, which %s: the program would run unmerged%s\n",
		       p.source, r < 0 ? "cannot be read" : "has problems",
		       p.strict ? " (strict yes: it would be stopped)" : "");
		return 1;
	}
	if (!envp && !strcmp(p.source, "built-in default"))
		printf("  chosen     the built-in default (no file's program line "
		       "matches)\n");
	else
		printf("  chosen     %s%s\n", p.source, envp ? "" :
		       " (the first file, in name order, whose program line matches)");
	if (!envp && strcmp(p.source, "built-in default")) {
		const char *vendor = vendor_opt || !dir ? vendor_opt ? vendor_opt :
			KSMP_VENDORPOLICYDIR : NULL;
		const char *first = vendor ? admin : dir;
		report_later_matches(first, first, vendor, p.source, exe, argv0);
		if (vendor)
			report_later_matches(vendor, admin, vendor, p.source, exe, argv0);
	}
	printf("  mode       %s\n", ksmp_mode_name(p.mode));
	return 0;
}

int ksmp_cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "program", required_argument, NULL, 'p' },
		{ "policy-dir", required_argument, NULL, 'd' },
		{ "vendor-dir", required_argument, NULL, 'D' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct ksmp_policy p;
	static char buf[KSMP_POLICY_MAX_FILE + 1];
	static char exe[PATH_MAX];
	const char *program = NULL, *dir = NULL, *vendor = NULL;
	bool quiet = false;
	int c, status = 0;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "p:d:D:qhV", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			program = optarg;
			break;
		case 'd':
			dir = optarg;
			break;
		case 'D':
			vendor = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			check_usage(stdout);
			return 0;
		case 'V':
			printf("ksmpreload %s\n", PACKAGE_VERSION);
			return 0;
		default:
			if (optopt)
				fprintf(stderr, "ksmpreload check: bad option '-%c'%s\n",
					optopt, strchr("pdD", optopt) ?
					" (needs an argument)" : "");
			else
				fprintf(stderr, "ksmpreload check: bad option '%s'\n",
					argv[optind - 1]);
			fprintf(stderr, "Try 'ksmpreload check --help'.\n");
			return 2;
		}
	}
	if (optind >= argc && !program) {
		fprintf(stderr, "ksmpreload check: no policy file given\n"
			"Try 'ksmpreload check --help'.\n");
		return 2;
	}
	if (program && !*program) {
		fprintf(stderr, "ksmpreload check: --program needs a non-empty path\n");
		return 2;
	}
	if ((dir && !*dir) || (vendor && !*vendor)) {
		fprintf(stderr, "ksmpreload check: --policy-dir and --vendor-dir need a non-empty path\n");
		return 2;
	}
	if (program)
		resolve_program(program, exe, sizeof exe);

	for (int i = optind; i < argc; i++) {
		struct check_ctx ctx = { 0 };
		int r = ksmp_policy_load(&p, argv[i], buf, sizeof buf,
					 print_diag, &ctx);
		if (r != 0) {
			status = 1;
			continue;
		}
		warn_shadowed(argv[i], &p);
		if (!quiet) {
			print_summary(argv[i], &p, program ? exe : NULL, program);
			if (i + 1 < argc || program)
				printf("\n");
		}
	}
	if (program && show_selection(exe, program, dir, vendor) != 0)
		status = 1;
	fflush(stdout);
	if (ferror(stdout)) {
		fprintf(stderr, "ksmpreload check: write error on stdout\n");
		return 1;
	}
	return status;
}
