/*
 * ksmp-spawn - what a preloaded library costs each exec, measured exec by
 * exec: posix_spawn of a program and waitpid, once per variant in every
 * round, the variants in rotating order (round k starts at variant k mod
 * n), so that a machine whose load changes over the run slows every
 * variant alike. Prints, per variant, the median microseconds per exec,
 * that less the median without a preload, and the median of the
 * per-round ratios to it.
 *
 *   ksmp-spawn [-r ROUNDS] [-w WARMUP] [-e VAR=VALUE] NAME=LIB... -- PROGRAM [ARG...]
 *
 * Variant "none" (no LD_PRELOAD) is always first; each NAME=LIB runs
 * PROGRAM with LD_PRELOAD=LIB (none: NAME=), every other variable as
 * inherited, and those that -e set for the variants after it (-e VAR=
 * sets it empty, -e VAR removes it). PROGRAM's output goes to
 * /dev/null; an exit status other than 0 fails the run.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAXV 16
#define MAXSET 16

struct variant {
	const char *name;
	char **env;
	double *us;		/* per round */
	double *ratio;		/* per round, to none */
};

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static const char *sets[MAXSET];	/* -e VAR=VALUE or VAR so far */
static size_t nsets;

/* Is environment entry e one that var (VAR=VALUE or VAR) names? */
static int same_var(const char *e, const char *var)
{
	size_t n = strcspn(var, "=");
	return !strncmp(e, var, n) && e[n] == '=';
}

/* environ with LD_PRELOAD=lib (none when lib is empty) and the -e so far */
static char **make_env(const char *lib)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **e = calloc(n + nsets + 2, sizeof(*e));
	if (!e)
		return NULL;
	size_t k = 0;
	if (*lib) {
		size_t len = strlen(lib) + sizeof("LD_PRELOAD=");
		if (!(e[k] = malloc(len)))
			return NULL;
		snprintf(e[k++], len, "LD_PRELOAD=%s", lib);
	}
	for (size_t j = 0; j < nsets; j++)
		if (strchr(sets[j], '='))
			e[k++] = (char *)sets[j];
	for (size_t i = 0; i < n; i++) {
		int keep = strncmp(environ[i], "LD_PRELOAD=", 11) != 0;
		for (size_t j = 0; j < nsets && keep; j++)
			keep = !same_var(environ[i], sets[j]);
		if (keep)
			e[k++] = environ[i];
	}
	return e;
}

static double spawn_us(char **argv, char **env,
		       const posix_spawn_file_actions_t *fa)
{
	pid_t pid;
	int st;
	double t0 = now_us();
	int r = posix_spawn(&pid, argv[0], fa, NULL, argv, env);
	if (r) {
		fprintf(stderr, "ksmp-spawn: %s: %s\n", argv[0], strerror(r));
		exit(1);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			perror("ksmp-spawn: waitpid");
			exit(1);
		}
	double t = now_us() - t0;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "ksmp-spawn: %s: status 0x%x\n", argv[0], st);
		exit(1);
	}
	return t;
}

static void usage(void)
{
	fprintf(stderr, "usage: ksmp-spawn [-r ROUNDS] [-w WARMUP] [-e VAR[=VALUE]] NAME=LIB... -- PROGRAM [ARG...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long rounds = 2000, warm = 20;
	struct variant v[MAXV];
	size_t nv = 0;
	int i = 1;

	v[nv++] = (struct variant){ .name = "none", .env = make_env("") };
	for (; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "-r") && i + 1 < argc)
			rounds = atol(argv[++i]);
		else if (!strcmp(argv[i], "-w") && i + 1 < argc)
			warm = atol(argv[++i]);
		else if (!strcmp(argv[i], "-e") && i + 1 < argc && nsets < MAXSET)
			sets[nsets++] = argv[++i];
		else {
			char *eq = strchr(argv[i], '=');
			if (!eq || nv == MAXV)
				usage();
			*eq = '\0';
			v[nv++] = (struct variant){ .name = argv[i],
						    .env = make_env(eq + 1) };
		}
	}
	if (i + 1 >= argc || rounds < 1 || warm < 0)
		usage();
	char **prog = argv + i + 1;

	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	for (size_t k = 0; k < nv; k++) {
		v[k].us = calloc((size_t)rounds, sizeof(double));
		v[k].ratio = calloc((size_t)rounds, sizeof(double));
		if (!v[k].env || !v[k].us || !v[k].ratio) {
			perror("ksmp-spawn");
			return 1;
		}
	}
	for (long r = 0; r < warm; r++)
		for (size_t k = 0; k < nv; k++)
			spawn_us(prog, v[k].env, &fa);
	for (long r = 0; r < rounds; r++)
		for (size_t j = 0; j < nv; j++) {
			size_t k = (j + (size_t)r) % nv;
			v[k].us[r] = spawn_us(prog, v[k].env, &fa);
		}
	for (size_t k = 0; k < nv; k++)
		for (long r = 0; r < rounds; r++)
			v[k].ratio[r] = v[k].us[r] / v[0].us[r];

	double none = median(v[0].us, (size_t)rounds);
	printf("ksmp-spawn: %s, %ld rounds, median per exec\n", prog[0], rounds);
	printf("| variant | us | over none | ratio |\n|---|---|---|---|\n");
	printf("| none | %.1f | | |\n", none);
	for (size_t k = 1; k < nv; k++) {
		double us = median(v[k].us, (size_t)rounds);
		printf("| %s | %.1f | %+.1f | %.3f |\n", v[k].name, us,
		       us - none, median(v[k].ratio, (size_t)rounds));
	}
	return 0;
}
