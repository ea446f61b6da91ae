/*
 * ksm-hold - run a command with ksmd tuned for fast tests, then put the
 * global KSM knobs back exactly as they were.
 *
 *   ksm-hold [-p PAGES_TO_SCAN] [-s SLEEP_MS] [-S SMART_SCAN] -- COMMAND [ARG]...
 *
 * KSM's knobs are global, so tests that change them must not overlap: an
 * exclusive flock serialises every holder. The values found are written to
 * a recovery file before anything is changed; if a holder is killed with
 * SIGKILL, the next holder restores from that file first. run is set to 1
 * (never 2, which unmerges every process on the machine); a run value of 2
 * found at start is restored as 0. smart_scan is off unless -S 1 (tests
 * that expect a late merge need it off; benchmarks use the kernel's
 * default, on). The command sees KSMP_KSM_HELD=1.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define KSM_DIR "/sys/kernel/mm/ksm/"
#define LOCK_PATH "/tmp/ksmpreload-test-ksm.lock"
#define SAVE_PATH "/tmp/ksmpreload-test-ksm.saved"

static const char *const knobs[] = {
	"run", "pages_to_scan", "sleep_millisecs", "smart_scan",
};
#define NKNOBS (sizeof(knobs) / sizeof(knobs[0]))

static volatile sig_atomic_t child_pid;

static int read_knob(const char *name, long *val)
{
	char path[128], buf[64];
	snprintf(path, sizeof(path), KSM_DIR "%s", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	*val = strtol(buf, NULL, 10);
	return 0;
}

static int write_knob(const char *name, long val)
{
	char path[128], buf[32];
	snprintf(path, sizeof(path), KSM_DIR "%s", name);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int len = snprintf(buf, sizeof(buf), "%ld", val);
	ssize_t n = write(fd, buf, (size_t)len);
	int err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

/* Saved file: one "name value" line per knob that exists. */
static int restore_from(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	char name[64];
	long val;
	int err = 0;
	while (fscanf(f, "%63s %ld", name, &val) == 2) {
		for (size_t i = 0; i < NKNOBS; i++) {
			if (strcmp(name, knobs[i]) != 0)
				continue;
			if (strcmp(name, "run") == 0 && val == 2)
				val = 0;
			if (write_knob(name, val) < 0 && !strcmp(name, "run"))
				err = -EIO;
		}
	}
	fclose(f);
	return err;
}

static int save_to(const char *path)
{
	char tmp[sizeof(SAVE_PATH) + 8];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -errno;
	}
	for (size_t i = 0; i < NKNOBS; i++) {
		long v = 0;
		if (read_knob(knobs[i], &v) == 0)
			fprintf(f, "%s %ld\n", knobs[i], v);
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	return rename(tmp, path) == 0 ? 0 : -errno;
}

static void forward(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

static void usage(void)
{
	fprintf(stderr, "usage: ksm-hold [-p PAGES] [-s SLEEP_MS] [-S 0|1] -- COMMAND [ARG]...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long pages = 5000, sleep_ms = 5, smart = 0;
	int opt;
	while ((opt = getopt(argc, argv, "+p:s:S:")) != -1) {
		switch (opt) {
		case 'p': pages = strtol(optarg, NULL, 10); break;
		case 's': sleep_ms = strtol(optarg, NULL, 10); break;
		case 'S': smart = strtol(optarg, NULL, 10) != 0; break;
		default: usage();
		}
	}
	if (optind >= argc)
		usage();

	int lfd = open(LOCK_PATH, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lfd < 0 || flock(lfd, LOCK_EX) < 0) {
		perror("ksm-hold: " LOCK_PATH);
		return 2;
	}
	/* A holder before us died without restoring: do it now. */
	if (access(SAVE_PATH, F_OK) == 0) {
		restore_from(SAVE_PATH);
		unlink(SAVE_PATH);
	}
	if (save_to(SAVE_PATH) < 0) {
		perror("ksm-hold: saving the KSM knobs");
		return 2;
	}
	write_knob("pages_to_scan", pages);
	write_knob("sleep_millisecs", sleep_ms);
	write_knob("smart_scan", smart);
	if (write_knob("run", 1) < 0) {
		perror("ksm-hold: " KSM_DIR "run");
		restore_from(SAVE_PATH);
		unlink(SAVE_PATH);
		return 2;
	}

	struct sigaction sa = { .sa_handler = forward };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);

	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		setenv("KSMP_KSM_HELD", "1", 1);
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "ksm-hold: %s: %s\n", argv[optind], strerror(errno));
		_exit(127);
	}
	int status = 0;
	if (pid > 0) {
		child_pid = pid;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	int rerr = restore_from(SAVE_PATH);
	unlink(SAVE_PATH);
	if (rerr < 0)
		fprintf(stderr, "ksm-hold: could not restore the KSM knobs\n");
	if (pid < 0) {
		perror("ksm-hold: fork");
		return 2;
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
