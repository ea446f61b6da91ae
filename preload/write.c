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
 * its runs per thread), the rest is written as the program asked.
 *
 * The continuation must not hide the program's own signals: it waits in
 * poll(), which a handled signal always ends (never restarted, whatever
 * SA_RESTART says), and writes only what cannot block: on a socket with
 * MSG_DONTWAIT, on a pipe at most PIPE_BUF bytes once poll() said there
 * is room. When poll() ends for a signal that was not ours, or reports an
 * error or hang-up (left pending for the program's next call), or the
 * socket's SO_SNDTIMEO passes (counted again from the continuation: the
 * whole write takes at most twice it), the count so far is returned, with
 * errno as it was: what the original call would have returned had that
 * signal, error or timeout cut it short. A pipe whose readers left gets
 * one more byte written, so that SIGPIPE comes as the kernel sends it
 * for a write that wrote a part. Only blocking pipes and stream
 * sockets are continued (elsewhere a short count may mean something: a
 * file size limit, a /proc file, a full non-blocking pipe).
 *
 * Never: allocate, or change errno when the call succeeds.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "lib.h"

enum { OTHER, PIPE, STREAM };

/* Is fd a blocking pipe or stream socket, where a short count only says
 * that a signal came? Elsewhere (files under RLIMIT_FSIZE, /proc and /sys
 * files, devices, non-blocking descriptors) a short count may mean
 * something, so it is left as it is. */
static int stream_kind(int fd)
{
	struct stat sb;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_NONBLOCK) || fstat(fd, &sb) != 0)
		return OTHER;
	if (S_ISFIFO(sb.st_mode))
		return PIPE;
	int type = 0;
	socklen_t len = sizeof(type);
	return S_ISSOCK(sb.st_mode) &&
	       getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
	       type == SOCK_STREAM ? STREAM : OTHER;
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

/* Milliseconds of CLOCK_MONOTONIC. */
static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

/* When a socket's SO_SNDTIMEO, counted from now, ends the wait: a
 * CLOCK_MONOTONIC time in ms, or -1 for none. The original call had
 * already used part of it: the whole write takes at most twice the
 * timeout. */
static long long send_deadline(int fd, int kind)
{
	struct timeval tv = { 0, 0 };
	socklen_t len = sizeof(tv);
	if (kind != STREAM || getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &len) != 0 ||
	    (!tv.tv_sec && !tv.tv_usec))
		return -1;
	return mono_ms() + tv.tv_sec * 1000ll + (tv.tv_usec + 999) / 1000;
}

enum { ROOM = 1, STOP = 0, BROKEN = -1 };

/* Wait until fd takes more data: ROOM; STOP when the original call would
 * have ended here (a signal not ours, the deadline, an error or hang-up
 * of a socket: left pending for the program's next call); BROKEN for a
 * pipe whose readers are gone. */
static int wait_room(int fd, int kind, long long deadline)
{
	for (;;) {
		int ms = -1;
		if (deadline >= 0) {
			long long left = deadline - mono_ms();
			if (left <= 0)
				return STOP;
			ms = left > INT_MAX ? INT_MAX : (int)left;
		}
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		unsigned seen = ksmp_ctl_interrupts;
		int r = poll(&p, 1, ms);
		if (r < 0 && errno == EINTR && seen != ksmp_ctl_interrupts)
			continue;	/* ours again */
		if (r != 1)
			return STOP;
		if (p.revents & (POLLERR | POLLHUP | POLLNVAL))
			return kind == PIPE && (p.revents & POLLERR) ? BROKEN : STOP;
		return p.revents & POLLOUT ? ROOM : STOP;
	}
}

/* Write the rest of iov[0..cnt) after done bytes without ever blocking in
 * a write; returns the new total. */
static ssize_t finish(int fd, int kind, const struct iovec *iov, int cnt, ssize_t done)
{
	long long deadline = send_deadline(fd, kind);
	for (;;) {
		size_t skip = (size_t)done;
		int k = 0;
		while (k < cnt && skip >= iov[k].iov_len)
			skip -= iov[k++].iov_len;
		if (k == cnt)
			return done;	/* all written */
		const char *next = (const char *)iov[k].iov_base + skip;
		int w = wait_room(fd, kind, deadline);
		if (w == BROKEN) {
			/* The kernel raises SIGPIPE for a pipe whose readers
			 * left during a write, also one that wrote a part:
			 * one byte more does the same (EPIPE, SIGPIPE). */
			if (real_write(fd, next, 1) == 1) {
				done++;
				continue;
			}
			return done;
		}
		if (w != ROOM)
			return done;	/* cut short after all */
		ssize_t m;
		if (kind == STREAM) {
			struct iovec v[64];
			int nv = 0;
			for (int j = k; j < cnt && nv < 64; j++, nv++)
				v[nv] = iov[j];
			v[0].iov_base = (char *)next;
			v[0].iov_len -= skip;
			struct msghdr mh = { .msg_iov = v, .msg_iovlen = (size_t)nv };
			m = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		} else {
			size_t len = iov[k].iov_len - skip;
			unsigned seen = ksmp_ctl_interrupts;
			m = real_write(fd, next, len > PIPE_BUF ? PIPE_BUF : len);
			/* it blocked (another writer took the room) and a signal
			 * that was not ours ended it: so would the original */
			if (m < 0 && errno == EINTR && seen == ksmp_ctl_interrupts)
				return done;
		}
		if (m < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			continue;	/* another writer took the room: wait again */
		if (m <= 0)
			return done;	/* the error stays for the program's next call */
		done += m;
	}
}

KSMP_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	unsigned seen = ksmp_ctl_interrupts;
	ssize_t r = real_write(fd, buf, n);
	if (KSMP_LIKELY(r < 0 || (size_t)r >= n || seen == ksmp_ctl_interrupts))
		return r;
	int saved = errno;
	int kind = stream_kind(fd);
	if (kind != OTHER) {
		struct iovec v = { (void *)buf, n };
		r = finish(fd, kind, &v, 1, r);
	}
	errno = saved;
	return r;
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
	int kind = stream_kind(fd);
	if (kind != OTHER)
		r = finish(fd, kind, iov, cnt, r);
	errno = saved;
	return r;
}
