/*
 * safety_util.h - small helpers shared by the safety test programs
 * (safety_load, safety_reuse, safety_corrupt).
 */
#ifndef KSMP_SAFETY_UTIL_H
#define KSMP_SAFETY_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static inline double sft_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read a whole file (at most sz - 1 bytes) and NUL-terminate it: the
 * number of bytes, or -errno. */
static inline ssize_t sft_slurp(const char *path, char *buf, size_t sz)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t got = 0;
	for (;;) {
		ssize_t n = read(fd, buf + got, sz - 1 - got);
		if (n < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		got += (size_t)n;
		if (n == 0 || got + 1 >= sz)
			break;
	}
	close(fd);
	buf[got] = 0;
	return (ssize_t)got;
}

/* Wait until MNT/PID/stats contains want; 0, or -1 after secs. The state
 * block is looked for in the maps first: asked before the library's
 * constructor ran, mergefs would remember the process as one without the
 * library for a while (its negative cache). */
static inline int sft_wait_stats(const char *mnt, int pid, const char *want,
				 double secs)
{
	char path[4096], buf[16384], maps[64];
	static __thread char mbuf[65536];
	double end = sft_now() + secs;
	snprintf(path, sizeof(path), "%s/%d/stats", mnt, pid);
	snprintf(maps, sizeof(maps), "/proc/%d/maps", pid);
	while (sft_now() < end && !(sft_slurp(maps, mbuf, sizeof(mbuf)) > 0 &&
				    strstr(mbuf, "ksmpreload-state")))
		usleep(2000);
	while (sft_now() < end) {
		if (sft_slurp(path, buf, sizeof(buf)) > 0 && strstr(buf, want))
			return 0;
		usleep(5000);
	}
	return -1;
}

#endif
