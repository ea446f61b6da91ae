/*
 * proc.c - what attach reads from /proc before it touches a process:
 * state, tracer, kernel-thread flag, owner, start time; name lookup; and
 * why the kernel would not let us trace it.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "ksmp_util.h"

#define PF_KTHREAD_FLAG 0x00200000u

/* Fields of /proc/PID/stat after the command name: state is field 3. */
static int stat_fields(pid_t pid, char *state, unsigned long *flags,
		       unsigned long long *start)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	ssize_t n = ksmp_read_small(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	char *p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	unsigned long fl = 0;
	unsigned long long st = 0;
	char s = 0;
	/* 3 state, 9 flags, 22 starttime */
	if (sscanf(p + 2, "%c %*d %*d %*d %*d %*d %lu %*u %*u %*u %*u %*u %*u "
		   "%*d %*d %*d %*d %*d %*d %llu", &s, &fl, &st) != 3)
		return -EIO;
	if (state)
		*state = s;
	if (flags)
		*flags = fl;
	if (start)
		*start = st;
	return 0;
}

static long status_field(const char *status, const char *key, long fallback)
{
	const char *p = strstr(status, key);
	return p ? strtol(p + strlen(key), NULL, 10) : fallback;
}

/* The first thread that is traced, its tracer, and a live thread to stop. */
static void scan_threads(struct attach_proc *p)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)p->pid);
	DIR *d = opendir(path);
	if (!d)
		return;
	struct dirent *e;
	pid_t live = 0;
	while ((e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid_t tid = (pid_t)atoi(e->d_name);
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)p->pid, (int)tid);
		if (ksmp_read_small(path, buf, sizeof(buf)) < 0)
			continue;
		long tr = status_field(buf, "\nTracerPid:", 0);
		if (tr && !p->tracer)
			p->tracer = (pid_t)tr;
		const char *s = strstr(buf, "\nState:");
		char c = s ? s[7 + strspn(s + 7, " \t")] : 0;
		bool zombie = c == 'Z' || c == 'X';
		if (!zombie && (!live || tid == p->pid))
			live = tid;
	}
	closedir(d);
	p->tid = live ? live : p->pid;
}

/* Is the call a thread is in one that returns a short count when a
 * signal or a ptrace stop interrupts it after part of the data went?
 * Programs that do not loop then lose the rest: CPython 3.11's buffered
 * writer does (tests/attach/attach_shortwrite.sh). That is every write to
 * a pipe or a socket; of the reads, only a receive with MSG_WAITALL,
 * which a program may trust to return all it asked for, or the end of the
 * stream (tests/attach/attach_blocked.sh). Other reads are not: they
 * return as soon as any data came, stop or no stop. nr and args as
 * /proc/TID/syscall shows them; an x32 call (__X32_SYSCALL_BIT) by its
 * x32 number. */
#define X32_BIT 0x40000000L
#define MSG_WAITALL_ 0x100
static bool short_on_stop(long nr, const unsigned long long args[6])
{
	static const long writes[] = {
		SYS_write, SYS_writev, SYS_pwrite64, SYS_pwritev,
#ifdef SYS_pwritev2
		SYS_pwritev2,
#endif
		SYS_sendto, SYS_sendmsg, SYS_sendmmsg, SYS_sendfile,
		SYS_splice, SYS_tee, SYS_vmsplice,
#ifdef SYS_copy_file_range
		SYS_copy_file_range,
#endif
	};
	/* x32's own entries (arch/x86/entry/syscalls/syscall_64.tbl) */
	static const long x32_writes[] = { 516, 518, 532, 535, 538, 547 };
	const long *t = writes;
	size_t n = sizeof(writes) / sizeof(writes[0]);
	if (nr & X32_BIT) {
		nr &= ~X32_BIT;
		if (nr >= 512) {
			t = x32_writes;
			n = sizeof(x32_writes) / sizeof(x32_writes[0]);
		}
		/* x32 recvfrom 517, recvmsg 519, recvmmsg 537 */
		if (nr == 517 || nr == 537)
			return args[3] & MSG_WAITALL_;
		if (nr == 519)
			return args[2] & MSG_WAITALL_;
	}
	for (size_t i = 0; i < n; i++)
		if (t[i] == nr)
			return true;
	if (nr == SYS_recvfrom || nr == SYS_recvmmsg)
		return args[3] & MSG_WAITALL_;
	if (nr == SYS_recvmsg)
		return args[2] & MSG_WAITALL_;
	return false;
}

/* Parses /proc/TID/syscall: 1 and the call's number and arguments when
 * the thread is blocked in one, 0 when it runs or is outside any call
 * ("running", "-1 ..."), -1 when unreadable. */
static int syscall_of(const char *buf, long *nr, unsigned long long args[6])
{
	if (strncmp(buf, "running", 7) == 0)
		return 0;
	char *end;
	*nr = strtol(buf, &end, 10);
	if (end == buf)
		return -1;
	for (int i = 0; i < 6; i++)
		args[i] = strtoull(end, &end, 16);
	return *nr >= 0;
}

/* voluntary_ctxt_switches of thread tid of pid, -1 when unreadable. */
static long long voluntary_switches(pid_t pid, pid_t tid)
{
	char path[80], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	if (ksmp_read_small(path, buf, sizeof(buf)) <= 0)
		return -1;
	const char *v = strstr(buf, "\nvoluntary_ctxt_switches:");
	return v ? strtoll(v + 26, NULL, 10) : -1;
}

/* May thread tid of pid be stopped now without cutting a write short?
 * Yes when it is blocked in a call that is not such a write, or outside
 * any call. A thread on a CPU shows only "running", also inside a write
 * that a reader keeps waking: it is taken when it stays running without
 * blocking once (its voluntary switches unchanged) over 3 looks 2 ms
 * apart; a write that never blocks is never cut short. */
static bool stoppable(pid_t pid, pid_t tid)
{
	char path[80], buf[256];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
	long long sw0 = voluntary_switches(pid, tid);
	for (int i = 0; i < 3; i++) {
		if (i) {
			struct timespec ts = { 0, 2000000 };
			nanosleep(&ts, NULL);
		}
		if (ksmp_read_small(path, buf, sizeof(buf)) <= 0)
			return false;
		long nr;
		unsigned long long args[6];
		int in = syscall_of(buf, &nr, args);
		if (in < 0)
			return false;
		if (strncmp(buf, "running", 7) != 0)
			return !in || !short_on_stop(nr, args);
	}
	return sw0 >= 0 && voluntary_switches(pid, tid) == sw0;
}

/* A live thread of pid that may be stopped now? */
static bool pickable(pid_t pid, pid_t tid)
{
	char path[64], st[1024];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	const char *c = ksmp_read_small(path, st, sizeof(st)) > 0 ? strrchr(st, ')') : NULL;
	/* tests only: stop it even in a write, to check that a write the
	 * stop cuts short is finished (ksmp_inject_finish_write) */
	const char *any = getenv("KSMP_TEST_ATTACH_ANY_THREAD");
	return c && c[2] != 'Z' && c[2] != 'X' &&
	       ((any && *any == '1') || stoppable(pid, tid));
}

int attach_pick_thread(struct attach_proc *p)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)p->pid);
	DIR *d = opendir(path);
	if (!d)
		return -ESRCH;
	/* the thread scan_threads() chose first (the main one when live),
	 * then every other one (no limit on their number) */
	pid_t first = p->tid;
	bool found = pickable(p->pid, first);
	struct dirent *e;
	while (!found && (e = readdir(d))) {
		pid_t tid = isdigit((unsigned char)e->d_name[0]) ? (pid_t)atoi(e->d_name) : 0;
		if (tid && tid != first && pickable(p->pid, tid)) {
			p->tid = tid;
			found = true;
		}
	}
	closedir(d);
	return found ? 0 : -EBUSY;
}

/* Is pid's executable a 32-bit x86 program (ELF class 32, machine 386)?
 * Its threads run i386 code and make i386 calls, whose numbers the table
 * above does not know; attach refuses it before stopping anything. An x32
 * program (class 32, machine x86_64) makes x86_64 calls: not this. */
static bool exe_is_i386(pid_t pid)
{
	char path[64];
	unsigned char h[20];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = pread(fd, h, sizeof(h), 0);
	close(fd);
	return n == (ssize_t)sizeof(h) && !memcmp(h, "\x7f" "ELF", 4) &&
	       h[4] == 1 /* ELFCLASS32 */ && h[5] == 1 /* little-endian */ &&
	       (h[18] | h[19] << 8) == 3 /* EM_386 */;
}

int attach_proc_read(pid_t pid, struct attach_proc *p)
{
	memset(p, 0, sizeof(*p));
	p->pidfd = p->memfd = -1;
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	ssize_t n = ksmp_read_small(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	p->pid = (pid_t)status_field(buf, "\nTgid:", pid);
	const char *u = strstr(buf, "\nUid:");
	unsigned long r = 0, e = 0, s = 0;
	if (u)
		sscanf(u + 5, "%lu %lu %lu", &r, &e, &s);
	p->ruid = (uid_t)r;
	p->euid = (uid_t)e;
	p->suid = (uid_t)s;
	unsigned long flags = 0;
	int err = stat_fields(p->pid, &p->state, &flags, &p->start);
	if (err)
		return err;
	p->kthread = flags & PF_KTHREAD_FLAG;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)p->pid);
	if (ksmp_read_small(path, p->comm, sizeof(p->comm)) > 0)
		p->comm[strcspn(p->comm, "\n")] = 0;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)p->pid);
	ssize_t l = readlink(path, p->exe, sizeof(p->exe) - 1);
	p->exe[l > 0 ? l : 0] = 0;
	p->i386 = exe_is_i386(p->pid);
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)p->pid);
	if (ksmp_read_small(path, p->argv0, sizeof(p->argv0)) < 0)
		p->argv0[0] = 0;
	scan_threads(p);
	return 0;
}

/* A capability set ("CapEff", "CapPrm") of /proc/PID/status (0: self);
 * 0 when unreadable. */
static unsigned long long cap_set(pid_t pid, const char *which)
{
	char buf[4096], path[64], key[16];
	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/status");
	if (ksmp_read_small(path, buf, sizeof(buf)) < 0)
		return 0;
	snprintf(key, sizeof(key), "\n%s:", which);
	const char *c = strstr(buf, key);
	return c ? strtoull(c + strlen(key), NULL, 16) : 0;
}

static bool have_cap(int cap)
{
	return cap_set(0, "CapEff") >> cap & 1;
}

void attach_why_denied(const struct attach_proc *p, char *buf, size_t len)
{
	const int cap_sys_ptrace = 19;
	uid_t me = getuid();
	bool cap = have_cap(cap_sys_ptrace);
	char path[64], yama[16] = "";
	struct stat sb;
	/* the files of a process that is not dumpable belong to root (its
	 * /proc/PID directory keeps the owner it had) */
	snprintf(path, sizeof(path), "/proc/%d/status", (int)p->pid);
	bool undumpable = stat(path, &sb) == 0 && sb.st_uid == 0 && p->euid != 0;
	int scope = ksmp_read_small("/proc/sys/kernel/yama/ptrace_scope", yama,
				    sizeof(yama)) > 0 ? atoi(yama) : -1;
	if (!cap && (p->ruid != me || p->euid != me || p->suid != me))
		snprintf(buf, len, "it belongs to another user (uid %u) and this "
			 "process lacks CAP_SYS_PTRACE", (unsigned)p->euid);
	else if (!cap && undumpable)
		snprintf(buf, len, "it is not dumpable (set-user-ID, or "
			 "PR_SET_DUMPABLE 0) and this process lacks CAP_SYS_PTRACE");
	else if (!cap && (cap_set(p->pid, "CapPrm") & ~cap_set(0, "CapPrm")))
		snprintf(buf, len, "it holds capabilities (CapPrm %llx) this process "
			 "lacks, and this process lacks CAP_SYS_PTRACE",
			 cap_set(p->pid, "CapPrm"));
	else if (scope == 3)
		snprintf(buf, len, "Yama ptrace_scope is 3: no process may attach");
	else if (scope == 2 && !cap)
		snprintf(buf, len, "Yama ptrace_scope is 2: attaching needs "
			 "CAP_SYS_PTRACE");
	else if (scope == 1 && !cap)
		snprintf(buf, len, "Yama ptrace_scope is 1: only its ancestors, or "
			 "a process with CAP_SYS_PTRACE, may attach");
	else
		snprintf(buf, len, "the kernel denied ptrace access (a security "
			 "module, or a user namespace it cannot be traced from)");
}

int attach_resolve(const char *arg, pid_t **pids, size_t *n)
{
	char *end;
	long v = strtol(arg, &end, 10);
	size_t before = *n;
	bool numeric = *arg && !*end;
	DIR *d = numeric ? NULL : opendir("/proc");
	if (!numeric && !d)
		return -errno;
	for (;;) {
		pid_t pid = (pid_t)v;
		if (!numeric) {
			struct dirent *e = readdir(d);
			if (!e)
				break;
			if (!isdigit((unsigned char)e->d_name[0]))
				continue;
			pid = (pid_t)atoi(e->d_name);
			if (pid == getpid())
				continue;
			char path[64], exe[4096], comm[64];
			snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
			ssize_t l = readlink(path, exe, sizeof(exe) - 1);
			exe[l > 0 ? l : 0] = 0;
			const char *b = strrchr(exe, '/');
			snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
			if (ksmp_read_small(path, comm, sizeof(comm)) > 0)
				comm[strcspn(comm, "\n")] = 0;
			else
				comm[0] = 0;
			if (!(l > 0 && !strcmp(b ? b + 1 : exe, arg)) &&
			    !(l > 0 && !strcmp(comm, arg)))
				continue;	/* (kernel threads have no exe) */
		}
		pid_t *nv = realloc(*pids, (*n + 1) * sizeof(**pids));
		if (!nv) {
			if (d)
				closedir(d);
			return -ENOMEM;
		}
		*pids = nv;
		nv[(*n)++] = pid;
		if (numeric)
			break;
	}
	if (d)
		closedir(d);
	return (int)(*n - before);
}

long attach_ksm_stat(pid_t pid, const char *key)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/ksm_stat", (int)pid);
	if (ksmp_read_small(path, buf, sizeof(buf)) < 0)
		return -1;
	size_t kl = strlen(key);
	for (const char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
		if (!strncmp(p, key, kl) && (p[kl] == ':' || p[kl] == ' ')) {
			const char *v = p + kl + 1 + strspn(p + kl + 1, " \t");
			return !strncmp(v, "yes", 3) ? 1 : !strncmp(v, "no", 2) ? 0 :
				strtol(v, NULL, 10);
		}
	return -1;
}
