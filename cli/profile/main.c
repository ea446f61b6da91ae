/*
 * main.c - `ksmpreload profile`: options, the recording policy, starting
 * the instances, then the join, the report and the suggested policy. How
 * it works: profile.h. Exit 0, 1 on failure, 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libelf.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "ksmp_ksmd.h"
#include "policy.h"
#include "profile.h"

/* Recording policy: every kind the library can advise except thread
 * stacks (return addresses and locals), crypto libraries still skipped. */
static const char recording_policy[] =
	"name      profile\n"
	"mode      regions\n"
	"log       error\n"
	"strict    no\n"
	"control   yes\n"
	"heap-step 8M\n"
	PROF_CRYPTO_SKIPS
	"skip  stack\n"
	"merge heap,arena,chunk,mmap,file\n";

struct popts {
	const char *out_path, *report_path;
	int ninst;
	double settle_s;
	bool json, force;
	char **cmd;
};

struct diagctx {
	int n;
};

static void diag_cb(void *ctx, const char *file, unsigned line, const char *msg)
{
	struct diagctx *d = ctx;
	d->n++;
	fprintf(stderr, "ksmpreload profile: suggested policy %s:%u: %s\n",
		file ? file : "-", line, msg);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ksmpreload profile [-o POLICY] [-n N] [--settle SECONDS] [--json]\n"
		"                          [--report FILE] -- COMMAND [ARG]...\n"
		"\n"
		"Run N instances of COMMAND under libksmpreload.so, recording where every\n"
		"advised region came from; after the savings plateau (or SECONDS, or Enter,\n"
		"or Ctrl-C) report per origin what KSM merged and suggest a policy.\n"
		"\n"
		"  -n, --instances N   instances to run at once (default 1)\n"
		"  -o, --output FILE   write the suggested policy to FILE (default: stdout,\n"
		"                      after the report)\n"
		"      --settle S      wait S seconds instead of for the plateau\n"
		"      --report FILE   write the report to FILE (default stdout)\n"
		"      --json          report as JSON\n"
		"      --force         profile even when ksmd is not running\n"
		"  -h, --help          show this help\n"
		"\n"
		"In COMMAND's arguments, {i} becomes the instance's number (0, 1, ...)\n"
		"and {N+i} N plus it, e.g. --port {7000+i}. Exit status: 0 when every\n"
		"instance ran to the end and the policy was written, 1 otherwise.\n");
}

/* Options into *o; returns -1 to go on, else the exit status. */
static int parse_opts(int argc, char **argv, struct popts *o)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "instances", required_argument, NULL, 'n' },
		{ "settle", required_argument, NULL, 's' },
		{ "report", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+o:n:h", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'o':
			o->out_path = optarg;
			break;
		case 'n':
			o->ninst = (int)strtol(optarg, &end, 10);
			if (*end || o->ninst < 1 || o->ninst > MAX_INST) {
				fprintf(stderr, "ksmpreload profile: -n: 1 to %d\n", MAX_INST);
				return 2;
			}
			break;
		case 's':
			o->settle_s = strtod(optarg, &end);
			if (*end || !(o->settle_s > 0) || o->settle_s > 86400) {
				fprintf(stderr, "ksmpreload profile: --settle: seconds > 0\n");
				return 2;
			}
			break;
		case 'r':
			o->report_path = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'f':
			o->force = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	o->cmd = argv + optind;
	return -1;
}

/* The recording policy in a temporary file (its path into ppath) and the
 * instances' environment. 0, or -1 after saying why. */
static int prepare(char *ppath, size_t size)
{
	char lib[PATH_MAX];
	if (ksmp_find_library(lib, sizeof(lib)) < 0)
		return -1;
	if (elf_version(EV_CURRENT) == EV_NONE) {
		fprintf(stderr, "ksmpreload profile: libelf: %s\n", elf_errmsg(-1));
		return -1;
	}
	const char *tmpdir = getenv("TMPDIR");
	snprintf(ppath, size, "%s/ksmpreload-profile-XXXXXX",
		 tmpdir && *tmpdir ? tmpdir : "/tmp");
	int pfd = mkstemp(ppath);
	if (pfd < 0 || write(pfd, recording_policy, sizeof(recording_policy) - 1) !=
			       (ssize_t)(sizeof(recording_policy) - 1)) {
		fprintf(stderr, "ksmpreload profile: %s: %s\n", ppath, strerror(errno));
		if (pfd >= 0) {
			close(pfd);
			unlink(ppath);
		}
		return -1;
	}
	close(pfd);
	if (ksmp_add_preload(lib) < 0 || setenv("KSMP_POLICY", ppath, 1) ||
	    setenv("KSMP_PROFILE", "1", 1)) {
		unlink(ppath);
		fprintf(stderr, "ksmpreload profile: cannot set the environment\n");
		return -1;
	}
	unsetenv("KSMP_POLICY_DIR");
	return 0;
}

/* Fork and exec the instances; returns how many started. */
/* arg with {i} and {N+i} replaced for instance i (malloc'ed; in the
 * forked child only). */
static char *instance_arg(const char *arg, int i)
{
	/* a 3-byte "{i}" becomes at most 20 digits */
	size_t cap = strlen(arg) * 8 + 32, len = 0;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	for (const char *p = arg; *p;) {
		unsigned long base = 0;
		char *end = NULL;
		if (p[0] == '{' && p[1] == 'i' && p[2] == '}') {
			p += 3;
		} else if (p[0] == '{' && p[1] >= '0' && p[1] <= '9' &&
			   (base = strtoul(p + 1, &end, 10), !strncmp(end, "+i}", 3))) {
			p = end + 3;
		} else {
			out[len++] = *p++;
			continue;
		}
		len += (size_t)snprintf(out + len, cap - len, "%lu", base + (unsigned long)i);
	}
	out[len] = '\0';
	return out;
}

static void exec_instance(const struct popts *o, int i)
{
	int argc = 0;
	while (o->cmd[argc])
		argc++;
	char **argv = calloc((size_t)argc + 1, sizeof(*argv));
	for (int a = 0; argv && a < argc; a++)
		if (!(argv[a] = instance_arg(o->cmd[a], i)))
			argv = NULL;
	execvp(argv ? argv[0] : o->cmd[0], argv ? argv : o->cmd);
}

static int start_instances(const struct popts *o, struct inst *in)
{
	int started = 0;
	fflush(NULL);
	for (int i = 0; i < o->ninst; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			fprintf(stderr, "ksmpreload profile: fork: %s\n", strerror(errno));
			break;
		}
		if (pid == 0) {
			/* own process group: the terminal's Ctrl-C is ours to handle */
			setpgid(0, 0);
			signal(SIGINT, SIG_DFL);
			signal(SIGTERM, SIG_DFL);
			/* keep our standard output for the report and policy */
			if (!o->report_path || !o->out_path)
				dup2(2, 1);
			int nul = open("/dev/null", O_RDONLY);
			if (nul >= 0 && nul != 0) {
				dup2(nul, 0);
				close(nul);
			}
			exec_instance(o, i);
			fprintf(stderr, "ksmpreload profile: %s: %s\n", o->cmd[0], strerror(errno));
			_exit(errno == ENOENT ? 127 : 126);
		}
		setpgid(pid, pid);
		in[started++].pid = pid;
	}
	return started;
}

/* The report and the suggested policy (checked by the parser first). */
static int emit(const struct popts *o, struct origins *os, struct inst *in,
		int started, int nread)
{
	int rc = 0;
	char *policy = prof_suggest_policy(os, o->cmd[0], nread);
	struct ksmp_policy *chk = calloc(1, sizeof(*chk));
	struct diagctx dc = { 0 };
	if (!policy || !chk ||
	    ksmp_policy_parse(chk, "suggested", policy, strlen(policy), diag_cb, &dc) != 0) {
		fprintf(stderr, "ksmpreload profile: the suggested policy does not parse\n");
		rc = 1;
	}
	free(chk);

	FILE *rf = stdout;
	if (o->report_path && !(rf = fopen(o->report_path, "w"))) {
		fprintf(stderr, "ksmpreload profile: %s: %s\n", o->report_path, strerror(errno));
		rf = stdout;
		rc = 1;
	}
	bool policy_in_json = o->json && !o->out_path && rf == stdout;
	if (o->json)
		prof_report_json(rf, os, in, started, policy_in_json && !rc ? policy : NULL);
	else
		prof_report_text(rf, os, in, started);
	if (rf != stdout && fclose(rf) != 0)
		rc = 1;
	if (!rc && policy && !policy_in_json) {
		if (o->out_path) {
			FILE *pf = fopen(o->out_path, "w");
			if (!pf || fputs(policy, pf) < 0 || fclose(pf) != 0) {
				fprintf(stderr, "ksmpreload profile: %s: %s\n", o->out_path,
					strerror(errno));
				rc = 1;
			}
		} else {
			printf("\n%s", policy);
		}
	}
	free(policy);
	return rc;
}

int ksmp_cmd_profile(int argc, char **argv)
{
	struct popts o = { .ninst = 1 };
	int rc = parse_opts(argc, argv, &o);
	if (rc >= 0)
		return rc;
	int run = ksmp_ksmd_run();
	if (run != 1 && !o.force) {
		fprintf(stderr, "ksmpreload profile: ksmd is not running (" KSMP_KSM_SYSFS
			"/run %s): nothing would merge and every origin would look "
			"worthless; start it with 'ksmpreload ksm on' as root, or "
			"profile anyway with --force\n", run < 0 ? "missing" :
			run == 0 ? "is 0" : "is 2");
		return 1;
	}
	if (run != 1)
		ksmp_warn_ksmd("profile --force");
	char ppath[PATH_MAX];
	if (prepare(ppath, sizeof(ppath)) < 0)
		return 1;

	struct sigaction sa = { .sa_handler = prof_on_sigint };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	struct inst in[MAX_INST];
	memset(in, 0, sizeof(in));
	int started = start_instances(&o, in);
	if (!started) {
		unlink(ppath);
		return 1;
	}
	prof_settle(in, started, o.settle_s, o.json && !o.report_path);
	prof_reap(in, started);
	int early = 0;
	for (int i = 0; i < started; i++) {
		if (!in[i].exited)
			continue;
		early++;
		int st = in[i].status;
		fprintf(stderr, "ksmpreload profile: instance %d (pid %d) ended before "
			"the profile did: %s %d\n", i, (int)in[i].pid,
			WIFSIGNALED(st) ? "killed by signal" : "exit status",
			WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	}

	struct origins os = { 0 };
	for (int i = 0; i < started; i++)
		if (!in[i].exited)
			prof_join_instance(&in[i], &os);
	prof_stop_all(in, started);
	unlink(ppath);
	int nread = 0;
	for (int i = 0; i < started; i++)
		nread += in[i].read_ok;
	if (!nread) {
		fprintf(stderr, "ksmpreload profile: no instance could be read (did %s "
			"exit before the settle time, or not load the library?)\n", o.cmd[0]);
		rc = 1;
	} else {
		if (os.n)
			qsort(os.o, os.n, sizeof(*os.o), prof_by_merged);
		rc = emit(&o, &os, in, started, nread);
		if (early && !rc) {
			fprintf(stderr, "ksmpreload profile: %d of %d instance(s) ended early: "
				"the report covers only the others\n", early, started);
			rc = 1;
		}
	}
	free(os.o);
	prof_elf_cache_free();
	return rc;
}
