/*
 * main.c - mergefs's options, process limits and start-up; the file
 * system itself is mergefs.c.
 */
#define FUSE_USE_VERSION 314
#include <errno.h>
#include <fuse.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ksmp_ksmd.h"
#include "mergefs.h"

struct mergefs_options mergefs_opts = { .timeout_ms = 5000, .auto_ms = 2000, .max_threads = FUSE_THREADS, .uid_targets = 256,
	   .process_metrics = 1, .unmerge_margin_mib = 64, .unmerge_batch_mib = 16 };

#define OPT(t, p) { t, offsetof(struct mergefs_options, p), 1 }
#define KEY_MAX_THREADS 1
static const struct fuse_opt opt_spec[] = {
	{ "timeout=%u", offsetof(struct mergefs_options, timeout_ms), 0 },
	{ "auto=%u", offsetof(struct mergefs_options, auto_ms), 0 },
	{ "uid_targets=%u", offsetof(struct mergefs_options, uid_targets), 0 },
	FUSE_OPT_KEY("max_threads=", KEY_MAX_THREADS),
	{ "process_metrics=%u", offsetof(struct mergefs_options, process_metrics), 0 },
	{ "unmerge_margin=%u", offsetof(struct mergefs_options, unmerge_margin_mib), 0 },
	{ "unmerge_batch=%u", offsetof(struct mergefs_options, unmerge_batch_mib), 0 },
	{ "ksmpreload=%s", offsetof(struct mergefs_options, ksmpreload), 0 },
	OPT("-h", show_help),
	OPT("--help", show_help),
	OPT("-V", show_version),
	OPT("--version", show_version),
	FUSE_OPT_END
};

static void usage(const char *prog)
{
	printf("usage: %s [options] [SOURCE] MOUNTPOINT\n\n"
	       "See and steer KSM per process (mergefs(8)).\n\n"
	       "mergefs options:\n"
	       "    -o timeout=MS          wait for a target's answer (default 5000)\n"
	       "    -o auto=MS             mode auto's wait after each pass (default 2000,\n"
	       "                           0: no controller)\n"
	       "    -o uid_targets=N       targets kept attached per uid (default 256)\n"
	       "    -o max_threads=N       worker threads (default %u; see LIMITS)\n"
	       "    -o process_metrics=0|1 per-process series in /metrics (default 1)\n"
	       "    -o unmerge_margin=MIB  memory an unmerge must leave free (default 64)\n"
	       "    -o unmerge_batch=MIB   address space unmerged per batch (default 16)\n"
	       "    -o ksmpreload=PATH     the ksmpreload command that /PID/merge runs for\n"
	       "                           processes without the library (default\n"
	       "                           " KSMP_BINDIR "/ksmpreload)\n"
	       "    -h, --help             this help, then libfuse's options\n"
	       "    -V, --version          version\n\n", prog, (unsigned)FUSE_THREADS);
}

/*
 * mount(8) and fstab run "mergefs SOURCE MOUNTPOINT -o ..." (through
 * mount.fuse3, SOURCE being fstab's first field): with two positional
 * arguments, drop the first. Returns the new argc.
 */
static int drop_source(int argc, char **argv)
{
	int pos[3], n = 0;
	for (int i = 1; i < argc && n < 3; i++) {
		if (!strcmp(argv[i], "-o")) {
			i++;
			continue;
		}
		if (argv[i][0] != '-')
			pos[n++] = i;
	}
	if (n != 2)
		return argc;
	for (int i = pos[0]; i + 1 < argc; i++)
		argv[i] = argv[i + 1];
	argv[argc - 1] = NULL;
	return argc - 1;
}

/* -o max_threads=N goes to libfuse; it also sets our limits. */
static int opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	(void)data;
	(void)outargs;
	if (key == KEY_MAX_THREADS)
		mergefs_opts.max_threads = (unsigned)strtoul(arg + strlen("max_threads="), NULL, 10);
	return 1;	/* keep it */
}

/* The limits of LIMITS in mergefs(8), from the options and the fd limit
 * (raised to its hard limit). 0, or -1 after a message. */
static int set_limits(void)
{
	if (mergefs_opts.max_threads < 8 || mergefs_opts.max_threads > 100000) {
		fprintf(stderr, "mergefs: max_threads must be 8..100000\n");
		return -1;
	}
	if (mergefs_opts.uid_targets < 1) {
		fprintf(stderr, "mergefs: uid_targets must be at least 1\n");
		return -1;
	}
	all_ops_max = mergefs_opts.max_threads > 32 ? mergefs_opts.max_threads - 16 : mergefs_opts.max_threads / 2;
	struct rlimit rl;
	unsigned long nofile = 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
			nofile = (unsigned long)rl.rlim_cur;
		else
			nofile = 1UL << 20;
	}
	/* a pidfd per kept target; the rest for requests in progress (a
	 * target of their own, a /proc file, the FUSE device) */
	unsigned long reserve = 64 + 3UL * mergefs_opts.max_threads;
	unsigned long all = nofile > reserve + 16 ? nofile - reserve : 16;
	if (all > TARGETS_MAX)
		all = TARGETS_MAX;
	target_limits(mergefs_opts.uid_targets, (unsigned)all);
	return 0;
}

int main(int argc, char **argv)
{
	argc = drop_source(argc, argv);
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	if (fuse_opt_parse(&args, &mergefs_opts, opt_spec, opt_proc) == -1)
		return 1;
	if (mergefs_opts.show_version) {
		printf("mergefs %s\n", PACKAGE_VERSION);
		fuse_opt_free_args(&args);
		return 0;
	}
	if (mergefs_opts.show_help) {
		usage(argv[0]);
		fuse_opt_add_arg(&args, "--help");
		args.argv[0][0] = '\0';
	}
	if (mergefs_opts.timeout_ms == 0 || mergefs_opts.timeout_ms > 600000) {
		fprintf(stderr, "mergefs: timeout must be 1..600000 ms\n");
		fuse_opt_free_args(&args);
		return 1;
	}
	if (mergefs_opts.process_metrics > 1) {
		fprintf(stderr, "mergefs: process_metrics must be 0 or 1\n");
		fuse_opt_free_args(&args);
		return 1;
	}
	metrics_per_process = (int)mergefs_opts.process_metrics;
	if (mergefs_opts.unmerge_margin_mib > 1u << 20 || mergefs_opts.unmerge_batch_mib == 0 ||
	    mergefs_opts.unmerge_batch_mib > 1u << 20) {
		fprintf(stderr, "mergefs: unmerge_margin must be 0..1048576 MiB, "
			"unmerge_batch 1..1048576 MiB\n");
		fuse_opt_free_args(&args);
		return 1;
	}
	if (mergefs_opts.ksmpreload && mergefs_opts.ksmpreload[0] != '/') {
		fprintf(stderr, "mergefs: ksmpreload=PATH must be an absolute path\n");
		fuse_opt_free_args(&args);
		return 1;
	}
	if (mergefs_opts.ksmpreload)
		attach_program = mergefs_opts.ksmpreload;
	unmerge_margin = (long long)mergefs_opts.unmerge_margin_mib << 20;
	unmerge_batch = (long long)mergefs_opts.unmerge_batch_mib << 20;
	if (!mergefs_opts.show_help && geteuid() != 0) {
		/* Without root it can attach no target (map_files needs
		 * CAP_SYS_ADMIN) nor read other users' ksm_stat; a half-working
		 * mount, above all with allow_other, is worse than none. */
		fprintf(stderr, "mergefs: must run as root (it maps /proc/PID/map_files)\n");
		fuse_opt_free_args(&args);
		return 1;
	}
	int run = mergefs_opts.show_help ? 1 : ksmp_ksmd_run();
	if (run < 0)
		fprintf(stderr, "mergefs: warning: KSM is not available (" KSMP_KSM_SYSFS
			"/run: %s): every figure will stay 0\n", strerror(-run));
	else if (run != 1)
		fprintf(stderr, "mergefs: warning: ksmd is not running (" KSMP_KSM_SYSFS
			"/run is %d): nothing merges and the savings shown will not "
			"grow until it is started ('ksmpreload ksm on')\n", run);
	if (bus_guard_init() < 0) {
		perror("mergefs: sigaction(SIGBUS)");
		fuse_opt_free_args(&args);
		return 1;
	}
	const char *race = getenv("KSMP_MERGEFS_RACE_MS");
	if (race)
		race_ms = (unsigned)strtoul(race, NULL, 10) % 60000;
	race = getenv("KSMP_MERGEFS_CREDS_RACE_MS");
	if (race)
		creds_race_ms = (unsigned)strtoul(race, NULL, 10) % 60000;
	if (set_limits() < 0) {
		fuse_opt_free_args(&args);
		return 1;
	}
	/* libfuse 3.14 complains about its own max_idle_threads default:
	 * give one that a user's own -o max_idle_threads overrides. Its
	 * max_threads (since 3.12; configure asks for 3.14) defaults to 10,
	 * which a user's blocked writes would fill: ours is FUSE_THREADS,
	 * and a user's own -o max_threads, coming later, wins. */
	fuse_opt_insert_arg(&args, 1, "-omax_idle_threads=10");
	char mt[48];
	snprintf(mt, sizeof(mt), "-omax_threads=%u", (unsigned)FUSE_THREADS);
	fuse_opt_insert_arg(&args, 1, mt);
	int r = fuse_main(args.argc, args.argv, &mergefs_ops, NULL);
	fuse_opt_free_args(&args);
	free(mergefs_opts.ksmpreload);
	return r ? 1 : 0;	/* libfuse's 1..7 all mean "did not run" */
}
