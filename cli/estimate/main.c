/*
 * main.c - `ksmpreload estimate`: options, then read every target, count,
 * report. How it works: estimate.h. Exit 0 when every target was read, 1
 * when one failed or vanished (one found by name or cgroup may vanish), 2
 * on a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "estimate.h"
#include "ksmp_util.h"

size_t pagesz;

static void estimate_usage(FILE *out)
{
	fprintf(out,
		"Usage: ksmpreload estimate [OPTION]... PID|NAME...\n"
		"       ksmpreload estimate [OPTION]... --cgroup PATH | --unit UNIT...\n"
		"\n"
		"Read the present private pages of the given processes (no merging,\n"
		"no stopping them) and report what perfect KSM merging could save:\n"
		"in total, per process and per kind of memory (heap, arena, stack,\n"
		"mmap, file, data), with all-zero pages counted apart. A NAME selects every\n"
		"process whose command name or executable basename starts with NAME\n"
		"(as pgrep: python3 finds python3.11).\n"
		"\n"
		"Options:\n"
		"  -j, --json            print JSON instead of tables\n"
		"  -b, --by WHAT         table by 'kind', 'process' or 'both' (default)\n"
		"  -r, --regions         also show every mapping scanned\n"
		"  -c, --chunk SIZE      bytes read per system call (default 1M)\n"
		"  -m, --max-rate RATE   read at most RATE bytes per second (K, M, G)\n"
		"      --progress        show progress on stderr (default: when stderr\n"
		"                        is a terminal and the targets hold > 256 MiB)\n"
		"      --no-progress     never show progress\n"
		"      --cgroup PATH     the processes of a cgroup (v2; absolute or below\n"
		"                        /sys/fs/cgroup) and of the cgroups below it\n"
		"      --unit UNIT       the processes of a systemd unit (.service added\n"
		"                        when UNIT has no suffix)\n"
		"  -h, --help            show this help and exit\n"
		"\n"
		"Needs root, or the owner of the processes (ptrace access rules).\n"
		"Exit status: 0 ok, 1 a process could not be read, or a PID given\n"
		"vanished, 2 usage error. See ksmpreload(1).\n");
}

/* --cgroup and --unit, in the order given. */
#define MAX_GROUPS 32
static struct {
	const char *arg;
	int unit;
} groups[MAX_GROUPS];
static int ngroups;

/* The processes of the --cgroup/--unit options into *pl; *status becomes
 * 1 when one is missing or empty. 0, or -ENOMEM. */
static int collect_groups(struct pidlist *pl, int *status)
{
	int self = (int)getpid();
	for (int g = 0; g < ngroups; g++) {
		char dir[PATH_MAX];
		const char *what = groups[g].unit ? "unit" : "cgroup";
		int r = 0;
		if (groups[g].unit)
			r = ksmp_unit_cgroup(groups[g].arg, dir, sizeof dir);
		else
			snprintf(dir, sizeof dir, "%s", groups[g].arg);
		pid_t *pids = NULL;
		size_t n = 0, added = 0;
		if (r == 0)
			r = ksmp_cgroup_pids(dir, &pids, &n);
		for (size_t i = 0; r == 0 && i < n; i++) {
			if (pids[i] == self)
				continue;
			if (est_pidlist_add(pl, est_tgid_of(pids[i]), 0) < 0)
				r = -ENOMEM;
			added++;
		}
		free(pids);
		if (r == -ENOMEM)
			return r;
		if (r < 0 || !added) {
			fprintf(stderr, "ksmpreload estimate: %s %s: %s\n", what, groups[g].arg,
				r == -ENOENT && groups[g].unit ? "no cgroup of that name" :
				r < 0 ? strerror(-r) : "no process in it");
			*status = 1;
		}
	}
	return 0;
}

/* Options into *o; returns -1 to go on, else the exit status. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
	enum { OPT_PROGRESS = 256, OPT_NO_PROGRESS, OPT_CGROUP, OPT_UNIT };
	static const struct option lopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "by", required_argument, NULL, 'b' },
		{ "regions", no_argument, NULL, 'r' },
		{ "chunk", required_argument, NULL, 'c' },
		{ "max-rate", required_argument, NULL, 'm' },
		{ "progress", no_argument, NULL, OPT_PROGRESS },
		{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
		{ "cgroup", required_argument, NULL, OPT_CGROUP },
		{ "unit", required_argument, NULL, OPT_UNIT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "jb:rc:m:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'j': o->json = 1; break;
		case 'r': o->regions = 1; break;
		case 'b':
			if (!strcmp(optarg, "kind")) {
				o->by_kind = 1;
				o->by_proc = 0;
			} else if (!strcmp(optarg, "process")) {
				o->by_kind = 0;
				o->by_proc = 1;
			} else if (!strcmp(optarg, "both")) {
				o->by_kind = o->by_proc = 1;
			} else {
				fprintf(stderr, "ksmpreload estimate: --by takes kind, process or both, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'c':
			if (ksmp_parse_size(optarg, strlen(optarg), &o->chunk) < 0 || o->chunk < pagesz ||
			    o->chunk > (UINT64_C(256) << 20)) {
				fprintf(stderr, "ksmpreload estimate: bad --chunk '%s' (4K to 256M)\n", optarg);
				return 2;
			}
			break;
		case 'm':
			if (ksmp_parse_size(optarg, strlen(optarg), &o->max_rate) < 0 || o->max_rate < pagesz) {
				fprintf(stderr, "ksmpreload estimate: bad --max-rate '%s' (bytes per second, e.g. 200M)\n", optarg);
				return 2;
			}
			break;
		case OPT_PROGRESS: o->progress = 1; break;
		case OPT_NO_PROGRESS: o->progress = 0; break;
		case OPT_CGROUP:
		case OPT_UNIT:
			if (ngroups == MAX_GROUPS || !*optarg) {
				fprintf(stderr, "ksmpreload estimate: %s\n", *optarg ?
					"too many --cgroup/--unit" : "empty --cgroup/--unit");
				return 2;
			}
			groups[ngroups].arg = optarg;
			groups[ngroups++].unit = c == OPT_UNIT;
			break;
		case 'h':
			estimate_usage(stdout);
			return 0;
		default:
			estimate_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc && !ngroups) {
		fprintf(stderr, "ksmpreload estimate: no process given\n");
		estimate_usage(stderr);
		return 2;
	}
	return -1;
}

/* The processes named by the arguments into *pl; *status becomes 1 when a
 * name matched nothing. Returns -1 to go on, else the exit status. */
static int collect_targets(int argc, char **argv, struct pidlist *pl, int *status)
{
	if (collect_groups(pl, status) < 0)
		goto oom;
	for (int i = optind; i < argc; i++) {
		const char *a = argv[i];
		if (!*a) {
			fprintf(stderr, "ksmpreload estimate: empty process name\n");
			return 2;
		}
		if (strspn(a, "0123456789") == strlen(a)) {
			long pid = strtol(a, NULL, 10);
			if (pid <= 0 || pid > INT_MAX) {
				fprintf(stderr, "ksmpreload estimate: bad pid '%s'\n", a);
				return 2;
			}
			if (est_pidlist_add(pl, est_tgid_of((int)pid), 1) < 0)
				goto oom;
			continue;
		}
		int n = est_resolve_name(a, pl);
		if (n == -ENOMEM)
			goto oom;
		if (n < 0) {
			fprintf(stderr, "ksmpreload estimate: %s: %s\n", a, strerror(-n));
			*status = 1;
		} else if (n == 0) {
			fprintf(stderr, "ksmpreload estimate: no process named '%s'\n", a);
			*status = 1;
		}
	}
	return -1;
oom:
	fprintf(stderr, "ksmpreload estimate: out of memory\n");
	return 1;
}

/* Read, count and report the processes of pl; returns the exit status. */
static int estimate(struct opts *o, const struct pidlist *pl, int status)
{
	struct proc *ps = calloc(pl->n ? pl->n : 1, sizeof(*ps));
	struct scan s = { .o = o };
	s.chunk_pages = (size_t)(o->chunk / pagesz);
	s.pm = malloc(s.chunk_pages * 8);
	s.buf = aligned_alloc(4096, s.chunk_pages * pagesz);
	int herr = ps && s.pm && s.buf ? est_hash_init() : -ENOMEM;
	if (herr < 0) {
		fprintf(stderr, "ksmpreload estimate: %s\n", herr == -ENOMEM ?
			"out of memory" : "cannot draw a random hash key");
		status = 1;
		goto out;
	}
	s.zero_pfn = est_find_zero_pfn();
	s.nproc = pl->n;
	for (size_t i = 0; i < pl->n; i++) {
		ps[i].pid = pl->v[i];
		ps[i].asked = pl->asked[i];
		s.total_bytes += est_resident_bytes(pl->v[i]);
	}
	if (o->progress < 0)
		o->progress = isatty(2) && s.total_bytes > (UINT64_C(256) << 20);
	s.t0 = s.last_progress = ksmp_now();
	for (size_t i = 0; i < pl->n; i++) {
		s.iproc = i;
		est_scan_proc(&s, &ps[i]);
	}
	if (o->progress && pl->n)
		est_progress(&s, 1);

	struct counts kt[KSMP_KIND_COUNT], tot;
	uint64_t distinct = 0;
	memset(kt, 0, sizeof(kt));
	memset(&tot, 0, sizeof(tot));
	int rc = est_count_all(ps, pl->n, kt, &tot, &distinct);
	double secs = ksmp_now() - s.t0;
	for (size_t i = 0; i < pl->n; i++) {
		if (ps[i].state == P_VANISHED)
			fprintf(stderr, "ksmpreload estimate: pid %d: vanished during the scan, skipped\n", ps[i].pid);
		else if (ps[i].state == P_FAILED)
			fprintf(stderr, "ksmpreload estimate: pid %d: %s\n", ps[i].pid, est_err_text(ps[i].err));
		if (ps[i].state != P_OK && (ps[i].asked || !est_gone(&ps[i])))
			status = 1;
	}
	if (rc < 0) {
		fprintf(stderr, "ksmpreload estimate: %s\n", strerror(-rc));
		status = 1;
	} else if (o->json) {
		est_print_json(o, ps, pl->n, kt, &tot, distinct, s.zero_pfn != 0, secs);
	} else {
		est_print_table(o, ps, pl->n, kt, &tot, secs);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "ksmpreload estimate: write error on stdout\n");
		status = 1;
	}
out:
	for (size_t i = 0; ps && i < pl->n; i++) {
		for (size_t j = 0; j < ps[i].nreg; j++)
			free(ps[i].reg[j].path);
		free(ps[i].reg);
		free(ps[i].rec);
	}
	free(ps);
	free(s.pm);
	free(s.buf);
	est_hash_free();
	return status;
}

int ksmp_cmd_estimate(int argc, char **argv)
{
	struct opts o = { .by_kind = 1, .by_proc = 1, .chunk = 1 << 20,
			  .progress = -1 };
	pagesz = (size_t)sysconf(_SC_PAGESIZE);
	int rc = parse_opts(argc, argv, &o);
	if (rc >= 0)
		return rc;
	int status = 0;
	struct pidlist pl = { 0 };
	rc = collect_targets(argc, argv, &pl, &status);
	if (rc < 0)
		rc = estimate(&o, &pl, status);
	free(pl.v);
	free(pl.asked);
	return rc;
}
