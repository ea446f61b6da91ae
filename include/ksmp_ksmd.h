/*
 * ksmp_ksmd.h - is ksmd running? Shared by the ksmpreload command and
 * mergefs, which warn when it is not: the library and mergefs only mark
 * and show memory, and nothing merges while /sys/kernel/mm/ksm/run is 0.
 */
#ifndef KSMP_KSMD_H
#define KSMP_KSMD_H

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#define KSMP_KSM_SYSFS "/sys/kernel/mm/ksm"

/* /sys/kernel/mm/ksm/run as a number (0 stopped, 1 running, 2 stopped
 * after unmerging everything), or -errno (-ENOENT: no KSM in this
 * kernel). */
static inline int ksmp_ksmd_run(void)
{
	char buf[16];
	int fd = open(KSMP_KSM_SYSFS "/run", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	int err = errno;
	close(fd);
	if (n <= 0)
		return n < 0 ? -err : -EIO;
	buf[n] = '\0';
	return (int)strtol(buf, NULL, 10);
}

#endif
