/*
 * sys.h - the system calls of the preload library's start, made directly
 * (x86-64, AArch64) instead of through libc's wrappers.
 *
 * Every program started under libksmpreload.so runs its constructor, and
 * in a new process each libc function called for the first time costs a
 * lazy binding (a symbol lookup through the loaded objects) and often a
 * page fault on its code: about 1-2 us each, more than the system call
 * (issue 13, bench/results.md). These make the same system calls as
 * glibc's wrappers (open is openat, fstat is newfstatat with
 * AT_EMPTY_PATH) and return the same: -1 and errno on failure. Elsewhere
 * they call syscall(2).
 *
 * Used by policy selection (select.c, also in the command) and the
 * library's start (identity, credentials, the signal mask).
 */
#ifndef KSMP_SYS_H
#define KSMP_SYS_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__aarch64__)
static inline long ksmp_sys4(long n, long a, long b, long c, long d)
{
#if defined(__x86_64__)
	register long r10 __asm__("r10") = d;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
			 : "rcx", "r11", "memory");
#else
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	__asm__ volatile("svc 0"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3)
			 : "memory", "cc");
	long ret = x0;
#endif
	if ((unsigned long)ret > -4096ul) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}
#else
static inline long ksmp_sys4(long n, long a, long b, long c, long d)
{
	return syscall(n, a, b, c, d);
}
#endif

#define KSMP_SYS(n, a, b, c, d) \
	ksmp_sys4((n), (long)(a), (long)(b), (long)(c), (long)(d))

static inline int ksmp_sys_openat(int dfd, const char *path, int flags)
{
	return (int)KSMP_SYS(SYS_openat, dfd, path, flags, 0);
}

static inline int ksmp_sys_open(const char *path, int flags)
{
	return ksmp_sys_openat(AT_FDCWD, path, flags);
}

static inline int ksmp_sys_close(int fd)
{
	return (int)KSMP_SYS(SYS_close, fd, 0, 0, 0);
}

static inline int ksmp_sys_fstatat(int dfd, const char *name, struct stat *st,
				   int flags)
{
	return (int)KSMP_SYS(SYS_newfstatat, dfd, name, st, flags);
}

static inline int ksmp_sys_fstat(int fd, struct stat *st)
{
	return ksmp_sys_fstatat(fd, "", st, AT_EMPTY_PATH);
}

static inline ssize_t ksmp_sys_read(int fd, void *buf, size_t n)
{
	return KSMP_SYS(SYS_read, fd, buf, n, 0);
}

static inline off_t ksmp_sys_lseek(int fd, off_t off, int whence)
{
	return KSMP_SYS(SYS_lseek, fd, off, whence, 0);
}

static inline ssize_t ksmp_sys_readlink(const char *path, char *buf, size_t n)
{
	return KSMP_SYS(SYS_readlinkat, AT_FDCWD, path, buf, n);
}

static inline ssize_t ksmp_sys_fgetxattr(int fd, const char *name, void *buf,
					 size_t n)
{
	return KSMP_SYS(SYS_fgetxattr, fd, name, buf, n);
}

static inline long ksmp_sys_getdents64(int fd, void *buf, size_t n)
{
	return KSMP_SYS(SYS_getdents64, fd, buf, n, 0);
}

static inline pid_t ksmp_sys_getpid(void)
{
	return (pid_t)KSMP_SYS(SYS_getpid, 0, 0, 0, 0);
}

static inline uid_t ksmp_sys_getuid(void)
{
	return (uid_t)KSMP_SYS(SYS_getuid, 0, 0, 0, 0);
}

static inline uid_t ksmp_sys_geteuid(void)
{
	return (uid_t)KSMP_SYS(SYS_geteuid, 0, 0, 0, 0);
}

static inline int ksmp_sys_getresuid(uid_t *r, uid_t *e, uid_t *s)
{
	return (int)KSMP_SYS(SYS_getresuid, r, e, s, 0);
}

static inline int ksmp_sys_getresgid(gid_t *r, gid_t *e, gid_t *s)
{
	return (int)KSMP_SYS(SYS_getresgid, r, e, s, 0);
}

/* The calling thread's blocked signals, as sigprocmask(SIG_BLOCK, NULL,
 * set) after sigemptyset(set) gives them (the kernel's 64 signals). */
static inline int ksmp_sys_sigmask(sigset_t *set)
{
	memset(set, 0, sizeof(*set));
	return (int)KSMP_SYS(SYS_rt_sigprocmask, SIG_BLOCK, NULL, set, 64 / 8);
}

#endif
