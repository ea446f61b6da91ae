/*
 * mergefs_bench - mergefs costs, side by side with what they replace.
 *
 *   1. reading /MNT/PID/stats of a process with 1,000 VMAs (open, read,
 *      close; median of many), next to /proc/PID/status and
 *      /proc/PID/smaps of the same process, and `cat` of each;
 *   2. listing /MNT with 1,000 processes (400 with the library, 300 using
 *      KSM without it, 300 plain), next to listing /proc;
 *   3. a merge toggle through mergefs (write "0" / "1" to PID/merge),
 *      next to the same madvise done by a process on itself.
 * Needs root and /dev/fuse; prints "skipped" otherwise. Numbers are
 * reported, never judged (targets: stats < 200 us, ls < 100 ms, toggle
 * overhead < 1 ms).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char bdir[2048], mnt[64] = "/tmp/mergefs-bench.XXXXXX";
static pid_t *kids;
static int nkids;

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmpd);
	return v[n / 2];
}

static pid_t spawn(char *const argv[], int *outfd)
{
	int p[2];
	if (outfd && pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		if (outfd) {
			dup2(p[1], 1);
			close(p[0]);
			close(p[1]);
		} else {
			int fd = open("/dev/null", O_WRONLY);
			dup2(fd, 1);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	if (outfd) {
		close(p[1]);
		*outfd = p[0];
	}
	return pid;
}

/* Start a target and wait for its "ready" line. */
static pid_t target(const char *a1, const char *a2, const char *a3, const char *a4)
{
	char prog[2100];
	snprintf(prog, sizeof(prog), "%s/tests/progs/mergefs_target", bdir);
	char *argv[] = { prog, (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL };
	int fd;
	pid_t pid = spawn(argv, &fd);
	if (pid < 0)
		return -1;
	char buf[128];
	if (read(fd, buf, sizeof(buf)) <= 0) {
		close(fd);
		return -1;
	}
	close(fd);
	kids[nkids++] = pid;
	return pid;
}

static int read_file(const char *path)
{
	static char buf[1 << 16];
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n, total = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	close(fd);
	return n < 0 ? -1 : (int)total;
}

static double time_read(const char *path, int reps)
{
	double *v = calloc((size_t)reps, sizeof(*v));
	for (int i = 0; i < reps; i++) {
		double t = now_us();
		if (read_file(path) < 0) {
			free(v);
			return -1;
		}
		v[i] = now_us() - t;
	}
	double m = median(v, reps);
	free(v);
	return m;
}

static double time_cmd(const char *prog, const char *arg, int reps)
{
	double *v = calloc((size_t)reps, sizeof(*v));
	for (int i = 0; i < reps; i++) {
		char *argv[] = { (char *)prog, (char *)arg, NULL };
		double t = now_us();
		pid_t p = spawn(argv, NULL);
		int st;
		waitpid(p, &st, 0);
		v[i] = now_us() - t;
	}
	double m = median(v, reps);
	free(v);
	return m;
}

static double time_list(const char *dir, int reps, int *count)
{
	double *v = calloc((size_t)reps, sizeof(*v));
	for (int i = 0; i < reps; i++) {
		double t = now_us();
		DIR *d = opendir(dir);
		int n = 0;
		while (d && readdir(d))
			n++;
		if (d)
			closedir(d);
		v[i] = now_us() - t;
		*count = n;
	}
	double m = median(v, reps);
	free(v);
	return m;
}

static double time_write(const char *path, int reps)
{
	double *v = calloc((size_t)reps, sizeof(*v));
	int fd = open(path, O_WRONLY);
	if (fd < 0) {
		free(v);
		return -1;
	}
	for (int i = 0; i < reps; i++) {
		double t = now_us();
		if (pwrite(fd, i % 2 ? "1" : "0", 1, 0) != 1) {
			close(fd);
			free(v);
			return -1;
		}
		v[i] = now_us() - t;
	}
	if (reps % 2)
		pwrite(fd, "1", 1, 0);
	close(fd);
	double m = median(v, reps);
	free(v);
	return m;
}

static void cleanup(void)
{
	for (int i = 0; i < nkids; i++)
		kill(kids[i], SIGKILL);
	for (int i = 0; i < nkids; i++)
		waitpid(kids[i], NULL, 0);
	char *argv[] = { (char *)"/bin/fusermount3", (char *)"-u", mnt, NULL };
	pid_t p = spawn(argv, NULL);
	waitpid(p, NULL, 0);
	rmdir(mnt);
}

int main(void)
{
	const char *b = getenv("KSMP_BUILDDIR");
	snprintf(bdir, sizeof(bdir), "%s", b ? b : ".");
	if (geteuid() != 0 || access("/dev/fuse", R_OK | W_OK) != 0 ||
	    access("/bin/fusermount3", X_OK) != 0) {
		printf("mergefs_bench: skipped (needs root, /dev/fuse and fusermount3)\n");
		return 0;
	}
	kids = calloc(1100, sizeof(*kids));
	if (!mkdtemp(mnt))
		return 1;
	char prog[2100];
	snprintf(prog, sizeof(prog), "%s/mergefs/mergefs", bdir);
	char *margv[] = { prog, (char *)"-o", (char *)"allow_other", mnt, NULL };
	pid_t mp = spawn(margv, NULL);
	int st;
	if (waitpid(mp, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "mergefs_bench: cannot mount\n");
		rmdir(mnt);
		return 1;
	}
	atexit(cleanup);

	/* 1. stats of a 1,000-VMA process */
	pid_t big = target("-v", "500", "-m", "4");	/* about 1,000 VMAs */
	char path[256], proc[64];
	snprintf(proc, sizeof(proc), "/proc/%d/maps", (int)big);
	char *mbuf = malloc(1 << 20);
	int fd = open(proc, O_RDONLY), vmas = 0;
	ssize_t n;
	while (fd >= 0 && (n = read(fd, mbuf, 1 << 20)) > 0)
		for (ssize_t i = 0; i < n; i++)
			vmas += mbuf[i] == '\n';
	if (fd >= 0)
		close(fd);
	free(mbuf);
	snprintf(path, sizeof(path), "%s/%d/stats", mnt, (int)big);
	read_file(path);	/* attach once */
	printf("stats of a process with %d VMAs (median of 2000 open+read+close):\n", vmas);
	printf("  mergefs PID/stats      %8.1f us   (target < 200 us)\n", time_read(path, 2000));
	snprintf(proc, sizeof(proc), "/proc/%d/status", (int)big);
	printf("  /proc/PID/status       %8.1f us\n", time_read(proc, 2000));
	snprintf(proc, sizeof(proc), "/proc/%d/smaps", (int)big);
	printf("  /proc/PID/smaps        %8.1f us   (what stats never reads)\n", time_read(proc, 200));
	snprintf(proc, sizeof(proc), "/proc/%d/status", (int)big);
	printf("  cat PID/stats          %8.1f us   (fork+exec cat, median of 200)\n",
	       time_cmd("/bin/cat", path, 200));
	printf("  cat /proc/PID/status   %8.1f us\n", time_cmd("/bin/cat", proc, 200));

	/* 2. listing with 1,000 processes */
	int started = 0;
	for (int i = 0; i < 400; i++)
		started += target("-m", "0", NULL, NULL) > 0;
	for (int i = 0; i < 300; i++)
		started += target("-n", "-K", "8", NULL) > 0;
	for (int i = 0; i < 300; i++)
		started += target("-n", "-m", "0", NULL) > 0;
	int cnt = 0, pcnt = 0;
	double t = now_us();
	time_list(mnt, 1, &cnt);
	double cold = now_us() - t;
	double warm = time_list(mnt, 21, &cnt);
	double procl = time_list("/proc", 21, &pcnt);
	printf("listing with %d extra processes (%d entries in mergefs, %d in /proc):\n",
	       started, cnt, pcnt);
	printf("  readdir mergefs, first %8.1f ms   (target < 100 ms)\n", cold / 1000);
	printf("  readdir mergefs        %8.1f ms   (median of 21)\n", warm / 1000);
	printf("  readdir /proc          %8.1f ms\n", procl / 1000);
	printf("  ls mergefs             %8.1f ms   (fork+exec ls, median of 11)\n",
	       time_cmd("/bin/ls", mnt, 11) / 1000);
	printf("  ls /proc               %8.1f ms\n", time_cmd("/bin/ls", "/proc", 11) / 1000);

	/* 3. merge toggle: through mergefs vs the kernel's own madvise */
	pid_t tg = target("-m", "64", "-s", "99");
	snprintf(path, sizeof(path), "%s/%d/merge", mnt, (int)tg);
	double via = time_write(path, 101);
	size_t len = 64u << 20;
	char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(buf, 7, len);
	for (size_t i = 0; i < len; i += 4096)
		buf[i] = (char)(i >> 12);
	madvise(buf, len, MADV_MERGEABLE);
	double v[101];
	for (int i = 0; i < 101; i++) {
		double t0 = now_us();
		madvise(buf, len, i % 2 ? MADV_MERGEABLE : MADV_UNMERGEABLE);
		v[i] = now_us() - t0;
	}
	double self = median(v, 101);
	printf("merge toggle of 64 MiB (median of 101, unmerge/merge alternating):\n");
	printf("  write PID/merge        %8.1f us\n", via);
	printf("  madvise in-process     %8.1f us\n", self);
	printf("  overhead               %8.1f us   (target < 1000 us)\n", via - self);
	return 0;
}
