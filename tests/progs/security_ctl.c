/*
 * security_ctl - probes for the SECURITY.md promises about the control
 * channel (tests/safety/security_ctl.sh). Each subcommand prints one word: OK,
 * an errno name, or the requested figures.
 *
 *   security_ctl hold MIB SEED      allocate and fill MIB MiB (mmap), print
 *                                   "ready PID", then sleep until killed
 *   security_ctl state PID          map PID's state block (needs
 *                                   CAP_SYS_ADMIN) and print its control
 *                                   fields: signo req ack commands rejected
 *                                   merge uid
 *   security_ctl open PID           try to open PID's state block read-write
 *                                   through /proc/PID/map_files
 *   security_ctl sigqueue PID SIG VALUE   sigqueue(2) with SI_QUEUE
 *   security_ctl kill PID SIG       kill(2) (SI_USER)
 *   security_ctl fds PID            count PID's fds that point at the block
 *
 * Never asserts: the shell test judges the output.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <dirent.h>
#include <unistd.h>

#include "ksmp_state.h"

static const char *ename(int e)
{
	switch (e) {
	case 0: return "OK";
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case ESRCH: return "ESRCH";
	case ENOENT: return "ENOENT";
	case EINVAL: return "EINVAL";
	default: {
		static char b[32];
		snprintf(b, sizeof(b), "E%d", e);
		return b;
	}
	}
}

/* Path of PID's state block in map_files, from /proc/PID/maps. */
static int block_path(pid_t pid, char *path, size_t n)
{
	char mp[64], line[512];
	snprintf(mp, sizeof(mp), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(mp, "r");
	if (!f)
		return -errno;
	int r = -ENOENT;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (!strstr(line, "memfd:" KSMP_STATE_MEMFD_NAME))
			continue;
		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		snprintf(path, n, "/proc/%d/map_files/%lx-%lx", (int)pid, lo, hi);
		r = 0;
		break;
	}
	fclose(f);
	return r;
}

static int cmd_hold(size_t mib, unsigned seed)
{
	size_t len = mib << 20;
	unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	for (size_t i = 0; i < len; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(p + i, &x, 8);
	}
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	for (;;)
		pause();
}

static int cmd_state(pid_t pid)
{
	char path[128];
	int r = block_path(pid, path, sizeof(path));
	if (r < 0) {
		printf("%s\n", ename(-r));
		return 1;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		printf("%s\n", ename(errno));
		return 1;
	}
	struct ksmp_state *st = mmap(NULL, sizeof(*st), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (st == MAP_FAILED) {
		printf("%s\n", ename(errno));
		return 1;
	}
	if (st->magic != KSMP_STATE_MAGIC || st->pid != pid) {
		printf("BADBLOCK\n");
		return 1;
	}
	printf("signo %d req %" PRIu32 " ack %" PRIu32 " commands %" PRIu64
	       " rejected %" PRIu64 " merge %" PRIu32 " uid %" PRIu32 "\n",
	       st->signo, st->ctl.req_seq, st->ctl.ack_seq, st->ctl.commands,
	       st->ctl.rejected, st->merge_state, st->uid);
	munmap(st, sizeof(*st));
	return 0;
}

static int cmd_open(pid_t pid)
{
	char path[128];
	int r = block_path(pid, path, sizeof(path));
	if (r < 0) {
		printf("NOBLOCK-%s\n", ename(-r));
		return 0;
	}
	int fd = open(path, O_RDWR | O_CLOEXEC);
	printf("%s\n", ename(fd < 0 ? errno : 0));
	if (fd >= 0)
		close(fd);
	return 0;
}

static int cmd_fds(pid_t pid)
{
	char dp[64];
	snprintf(dp, sizeof(dp), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(dp);
	if (!d) {
		printf("%s\n", ename(errno));
		return 1;
	}
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char lp[PATH_MAX], tgt[PATH_MAX];
		if (e->d_name[0] == '.')
			continue;
		snprintf(lp, sizeof(lp), "%s/%s", dp, e->d_name);
		ssize_t k = readlink(lp, tgt, sizeof(tgt) - 1);
		if (k < 0)
			continue;
		tgt[k] = 0;
		if (strstr(tgt, KSMP_STATE_MEMFD_NAME))
			n++;
	}
	closedir(d);
	printf("%d\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "hold"))
		return cmd_hold(strtoul(argv[2], NULL, 0), (unsigned)strtoul(argv[3], NULL, 0));
	if (argc >= 3 && !strcmp(argv[1], "state"))
		return cmd_state(atoi(argv[2]));
	if (argc >= 3 && !strcmp(argv[1], "open"))
		return cmd_open(atoi(argv[2]));
	if (argc >= 3 && !strcmp(argv[1], "fds"))
		return cmd_fds(atoi(argv[2]));
	if (argc >= 5 && !strcmp(argv[1], "sigqueue")) {
		union sigval v = { .sival_int = atoi(argv[4]) };
		int r = sigqueue(atoi(argv[2]), atoi(argv[3]), v);
		printf("%s\n", ename(r ? errno : 0));
		return 0;
	}
	if (argc >= 4 && !strcmp(argv[1], "kill")) {
		int r = kill(atoi(argv[2]), atoi(argv[3]));
		printf("%s\n", ename(r ? errno : 0));
		return 0;
	}
	fprintf(stderr, "usage: security_ctl hold|state|open|fds|sigqueue|kill ...\n");
	return 2;
}
