/*
 * ident.c - is the process that attach stopped still the one it read and
 * chose a policy for? attach reads /proc, then may wait up to 2 s for a
 * thread that is not writing (cmd_attach.c wait_for_thread); meanwhile
 * the process may exec (a set-user-ID program, or one whose vdso is
 * elsewhere: the `syscall` address found before would crash it) or end
 * and leave its pid to another. So attach holds a pidfd and a
 * /proc/PID/mem descriptor (a reference to its address space) from the
 * start, and checks them once the thread is stopped.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attach.h"
#include "inject.h"
#include "ksmp_util.h"

static int exe_id(pid_t pid, dev_t *dev, ino_t *ino)
{
	char path[64];
	struct stat sb;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if (stat(path, &sb) < 0)
		return -errno;
	*dev = sb.st_dev;
	*ino = sb.st_ino;
	return 0;
}

int attach_hold(struct attach_proc *p)
{
	char path[64], exe[sizeof(p->exe)];
	p->pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
	if (p->pidfd < 0)
		return errno == EINVAL ? -ESRCH : -errno;
	/* the address space the policy is chosen for; without ptrace access
	 * it cannot be opened, and the attach fails later saying why */
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)p->pid);
	p->memfd = open(path, O_RDONLY | O_CLOEXEC);
	p->have_exe = exe_id(p->pid, &p->exe_dev, &p->exe_ino) == 0;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)p->pid);
	ssize_t l = readlink(path, exe, sizeof(exe) - 1);
	exe[l > 0 ? l : 0] = 0;
	/* opened after attach_proc_read: the same process, same program */
	uint64_t start;
	if (ksmp_proc_starttime(p->pid, &start) < 0 || start != p->start ||
	    strcmp(exe, p->exe) != 0) {
		attach_release(p);
		return -ESRCH;
	}
	return 0;
}

void attach_release(struct attach_proc *p)
{
	if (p->pidfd >= 0)
		close(p->pidfd);
	if (p->memfd >= 0)
		close(p->memfd);
	p->pidfd = p->memfd = -1;
}

bool attach_ended(const struct attach_proc *p)
{
	struct pollfd pf = { .fd = p->pidfd, .events = POLLIN };
	return p->pidfd >= 0 && poll(&pf, 1, 0) > 0;
}

bool attach_exe_changed(const struct attach_proc *p)
{
	dev_t dev = 0;
	ino_t ino = 0;
	return p->have_exe && (exe_id(p->pid, &dev, &ino) < 0 ||
			       dev != p->exe_dev || ino != p->exe_ino);
}

int attach_same(const struct attach_proc *p, pid_t tid, uint64_t *sysaddr,
		char *why, size_t len)
{
	char path[64];
	struct stat sb;
	unsigned char b;
	uint64_t start, addr = 0;
	const char *what = NULL;
	snprintf(path, sizeof(path), "/proc/%d/task/%d", (int)p->pid, (int)tid);
	if (p->pidfd < 0 || attach_ended(p))
		what = "it ended";
	else if (stat(path, &sb) < 0)
		what = "the thread stopped is not one of its threads";
	else if (ksmp_proc_starttime(p->pid, &start) < 0 || start != p->start)
		what = "its pid now names another process";
	/* the descriptor opened at the start reads nothing once the address
	 * space it refers to is gone: an exec replaced it */
	else if (p->memfd < 0 || pread(p->memfd, &b, 1, (off_t)*sysaddr) != 1)
		what = "it exec'd (its address space is not the one read)";
	else if (attach_exe_changed(p))
		what = "it exec'd (its executable changed)";
	else if (ksmp_inject_find_syscall(p->pid, &addr) < 0 || addr != *sysaddr)
		what = "it exec'd (its vdso moved)";
	if (!what)
		return 0;
	snprintf(why, len, "%s since it was read: nothing done", what);
	return -ESRCH;
}
