/*
 * safety_util.h - small helpers shared by the safety test programs
 * (safety_load, safety_reuse, safety_corrupt).
 */
#ifndef KSMP_SAFETY_UTIL_H
#define KSMP_SAFETY_UTIL_H

#include <errno.h>
#include <fcntl.h>
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

#endif
