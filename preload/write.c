/*
 * write.c - write() and writev() interposers: a write that the control
 * agent's signal cut short is finished, so that the program sees what it
 * would have seen without us.
 *
 * A signal that interrupts a blocking write to a pipe or a stream socket
 * after part of the data went makes the call return that part (POSIX
 * allows it; with SA_RESTART nothing else is restarted). Careful programs
 * loop; others do not and lose the rest: CPython 3.11's buffered writer
 * drops the tail of a multi-megabyte sys.stdout.write to a pipe when any
 * signal lands in it (tests/mergefs/mergefs_shortwrite.sh). A mergefs
 * command must never do that, so when the count is short and the
 * control handler ran on this thread during the call (control.c counts
 * its runs per thread), the rest is written as the program asked. A
 * failure of that continuation is not reported: the count so far is
 * returned with errno as it was, exactly what the interrupted call
 * returned. Only pipes and stream sockets are continued (elsewhere a
 * short count may mean something: a file size limit, a /proc file). A
 * short count the program's own signal caused, or a full pipe behind a
 * non-blocking descriptor, is returned as it is.
 *
 * Never: allocate, or change errno when the call succeeds.
 */
#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "control.h"
#include "lib.h"

/* Is fd a pipe or a stream socket, where a short count only says that a
 * signal came? Elsewhere (files under RLIMIT_FSIZE, /proc and /sys files,
 * devices) a short count may mean something, so it is left as it is. */
static int streamlike(int fd)
{
	struct stat sb;
	if (fstat(fd, &sb) != 0)
		return 0;
	if (S_ISFIFO(sb.st_mode))
		return 1;
	int type = 0;
	socklen_t len = sizeof(type);
	return S_ISSOCK(sb.st_mode) &&
	       getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
}

static ssize_t real_write(int fd, const void *buf, size_t n)
{
	ksmp_need_real();
	ssize_t (*f)(int, const void *, size_t) = ksmp_real.write;
	if (KSMP_LIKELY(f != NULL))
		return f(fd, buf, n);
	return syscall(SYS_write, fd, buf, n);	/* inside dlsym, at start */
}

static ssize_t real_writev(int fd, const struct iovec *iov, int cnt)
{
	ksmp_need_real();
	ssize_t (*f)(int, const struct iovec *, int) = ksmp_real.writev;
	if (KSMP_LIKELY(f != NULL))
		return f(fd, iov, cnt);
	return syscall(SYS_writev, fd, iov, cnt);
}

KSMP_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	unsigned seen = ksmp_ctl_interrupts;
	ssize_t r = real_write(fd, buf, n);
	if (KSMP_LIKELY(r < 0 || (size_t)r >= n || seen == ksmp_ctl_interrupts))
		return r;
	int saved = errno;
	if (!streamlike(fd)) {
		errno = saved;
		return r;
	}
	while ((size_t)r < n && seen != ksmp_ctl_interrupts) {
		seen = ksmp_ctl_interrupts;
		ssize_t m = real_write(fd, (const char *)buf + r, n - (size_t)r);
		if (m <= 0)
			break;
		r += m;
	}
	errno = saved;
	return r;
}

/* The rest of iov[0..cnt) after done bytes: written a piece at a time
 * (the part of a partly written vector with write(), the whole ones after
 * it with writev()) while our signal keeps cutting it short. Returns the
 * new total. */
static ssize_t writev_rest(int fd, const struct iovec *iov, int cnt,
			   ssize_t done, unsigned seen)
{
	while (seen != ksmp_ctl_interrupts) {
		seen = ksmp_ctl_interrupts;
		size_t skip = (size_t)done;
		int k = 0;
		while (k < cnt && skip >= iov[k].iov_len)
			skip -= iov[k++].iov_len;
		if (k == cnt)
			break;	/* all written */
		ssize_t m = skip ?
			real_write(fd, (const char *)iov[k].iov_base + skip, iov[k].iov_len - skip) :
			real_writev(fd, iov + k, cnt - k);
		if (m <= 0)
			break;
		done += m;
		if (skip && (size_t)m == iov[k].iov_len - skip && k + 1 < cnt)
			seen--;	/* that piece is done: go on with the next vectors */
	}
	return done;
}

KSMP_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	unsigned seen = ksmp_ctl_interrupts;
	ssize_t r = real_writev(fd, iov, cnt);
	if (KSMP_LIKELY(r < 0 || seen == ksmp_ctl_interrupts))
		return r;
	size_t total = 0;
	for (int i = 0; i < cnt; i++)
		total += iov[i].iov_len;
	if ((size_t)r >= total)
		return r;
	int saved = errno;
	if (streamlike(fd))
		r = writev_rest(fd, iov, cnt, r, seen);
	errno = saved;
	return r;
}
