/*
 * inject.c - system call injection by ptrace (x86_64). See inject.h.
 *
 * The stop/restart rules this file relies on (Linux entry code):
 *
 * - PTRACE_INTERRUPT stops the thread inside get_signal(), on its way back
 *   to user mode. A thread that was blocked in a system call shows the
 *   call's number in orig_rax and -ERESTARTSYS, -ERESTARTNOINTR,
 *   -ERESTARTNOHAND or -ERESTART_RESTARTBLOCK in rax. The kernel turns
 *   that into a restart (rax = orig_rax, rip -= 2; or restart_syscall)
 *   only AFTER get_signal() returns, from the registers as they are then.
 *   So the original registers must be back in place while the thread is
 *   still inside get_signal(): we restore them in an interrupt stop, and
 *   the kernel then restarts, or delivers a signal with the right
 *   -ERESTART* semantics (SA_RESTART or EINTR), exactly as without us.
 * - The injected call itself runs with orig_rax = -1, so that no restart
 *   logic touches it, from a `syscall` instruction in the vdso (nothing in
 *   the target is written). Normally it is single-stepped: the SIGTRAP
 *   that reports the step stops the thread inside get_signal() again, one
 *   stop per call, and the original registers go back right there (see
 *   step_call()). A thread that blocks or ignores SIGTRAP would have that
 *   undone by the forced trap, so it gets the slower way: a syscall-entry
 *   and a syscall-exit stop (PTRACE_SYSCALL, PTRACE_O_TRACESYSGOOD), then:
 * - After the exit stop, a thread whose original registers need no restart
 *   is simply given them back and detached. Otherwise we ask for one more
 *   interrupt stop (PTRACE_INTERRUPT, then PTRACE_CONT from the exit stop):
 *   get_signal() runs job-control traps before it dequeues any signal, so
 *   that stop comes first even when signals are pending.
 * - A signal that is pending when we resume the thread into the injected
 *   call makes get_signal() report a signal-delivery stop before the call
 *   runs. We then restore the original registers (still inside the same
 *   get_signal()) and detach passing the signal on: it is delivered as if
 *   we had never been there, and the caller may retry (-EINTR).
 * - The thread's signal mask is never touched (PTRACE_SETSIGMASK would
 *   drop the saved mask of a thread in ppoll/pselect/sigsuspend).
 * - Options exclude PTRACE_O_EXITKILL: if this process dies, the kernel
 *   detaches and the target runs on. Catchable signals are blocked here
 *   while the target is stopped, so that only SIGKILL can cut the
 *   injection short; between the register change and the restore (tens
 *   of microseconds) that would leave the target with the injected
 *   registers, which is the one window that cannot be closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "inject.h"
#include "ksmp_util.h"

#ifndef PTRACE_SECCOMP_GET_FILTER
#define PTRACE_SECCOMP_GET_FILTER 0x420c
#endif
#define SYSCALL_STOP (SIGTRAP | 0x80)
/* A thread in uninterruptible sleep (D state, a vfork parent) does not
 * stop until it leaves it: give up after this long. */
#define STOP_TIMEOUT_NS (5ull * 1000000000u)

/* Tests only: KSMP_TEST_ATTACH_STOP_TIMEOUT_MS shortens it. */
static uint64_t stop_timeout_ns(void)
{
	const char *v = getenv("KSMP_TEST_ATTACH_STOP_TIMEOUT_MS");
	return v && atol(v) > 0 ? (uint64_t)atol(v) * 1000000u : STOP_TIMEOUT_NS;
}

static sigset_t saved_mask;
static bool masked;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void block_signals(bool on)
{
	if (on && !masked) {
		sigset_t s;
		sigfillset(&s);
		sigprocmask(SIG_BLOCK, &s, &saved_mask);
	} else if (!on && masked) {
		sigprocmask(SIG_SETMASK, &saved_mask, NULL);
	}
	masked = on;
}

static int seterr(struct ksmp_inject *in, int err, const char *what)
{
	snprintf(in->err, sizeof(in->err), "%s: %s", what, strerror(-err));
	return err;
}

void ksmp_inject_test_pause(const char *stage)
{
	const char *v = getenv("KSMP_TEST_ATTACH_PAUSE");
	size_t n = strlen(stage);
	if (!v || strncmp(v, stage, n) || (v[n] && v[n] != ':'))
		return;
	fprintf(stderr, "ksmpreload: test pause at %s\n", stage);
	fflush(stderr);
	if (!v[n]) {
		for (;;)
			pause();
	}
	long ms = atol(v + n + 1);
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Wait for the next stop of the thread. 0 and *status when stopped,
 * -ESRCH when it is gone. */
static int wait_stop_until(pid_t tid, int *status, uint64_t deadline_ns)
{
	for (;;) {
		pid_t r = waitpid(tid, status, __WALL | (deadline_ns ? WNOHANG : 0));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == ECHILD ? -ESRCH : -errno;
		if (r == 0) {
			/* Not yet: wait for the SIGCHLD a tracee's stop sends
			 * (blocked here, so it stays pending), then look again. */
			uint64_t now = now_ns();
			if (now >= deadline_ns)
				return -ETIMEDOUT;
			uint64_t left = deadline_ns - now;
			struct timespec ts = { (time_t)(left / 1000000000u),
					       (long)(left % 1000000000u) };
			sigset_t chld;
			sigemptyset(&chld);
			sigaddset(&chld, SIGCHLD);
			sigtimedwait(&chld, NULL, &ts);
			continue;
		}
		if (WIFSTOPPED(*status))
			return 0;
		if (WIFEXITED(*status) || WIFSIGNALED(*status))
			return -ESRCH;
	}
}

static int wait_stop(pid_t tid, int *status)
{
	return wait_stop_until(tid, status, 0);
}

static int get_regs(pid_t tid, struct user_regs_struct *r)
{
	return ptrace(PTRACE_GETREGS, tid, 0, r) < 0 ? -errno : 0;
}

static int set_regs(pid_t tid, const struct user_regs_struct *r)
{
	return ptrace(PTRACE_SETREGS, tid, 0, r) < 0 ? -errno : 0;
}

int ksmp_inject_find_syscall(pid_t pid, uint64_t *addr)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	unsigned long long s = 0, e = 0;
	bool found = false;
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "[vdso]") && sscanf(line, "%llx-%llx", &s, &e) == 2) {
			found = strncmp(strchr(line, ' ') + 1, "r-x", 3) == 0;
			break;
		}
	}
	fclose(f);
	if (!found || e <= s || e - s > (1u << 20))
		return -ENOEXEC;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = (size_t)(e - s);
	unsigned char *buf = malloc(len);
	ssize_t n = buf ? pread(fd, buf, len, (off_t)s) : -1;
	int err = n < 0 ? (buf ? -errno : -ENOMEM) : -ENOEXEC;
	close(fd);
	for (ssize_t i = 0; i + 1 < n; i++) {
		if (buf[i] == 0x0f && buf[i + 1] == 0x05) {
			*addr = s + (uint64_t)i;
			err = 0;
			break;
		}
	}
	free(buf);
	return err;
}

/* From the thread's status: its seccomp mode, and whether it blocks or
 * ignores SIGTRAP (then single-stepping, which forces a SIGTRAP on it,
 * would change that: we use syscall stops instead). */
static void read_status(struct ksmp_inject *in)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)in->tid);
	FILE *f = fopen(path, "re");
	in->step = f != NULL;
	if (!f)
		return;
	unsigned long long mask;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "Seccomp: %d", &in->seccomp_mode);
		if ((sscanf(line, "SigBlk: %llx", &mask) == 1 ||
		     sscanf(line, "SigIgn: %llx", &mask) == 1) &&
		    (mask & (1ull << (SIGTRAP - 1))))
			in->step = false;
	}
	fclose(f);
	if (getenv("KSMP_TEST_ATTACH_NOSTEP"))
		in->step = false;
}

static void free_filters(struct ksmp_inject *in)
{
	for (unsigned i = 0; i < in->nfilters; i++)
		free(in->filters[i].insn);
	in->nfilters = 0;
}

/* Copy the stopped thread's seccomp filters (needs CAP_SYS_ADMIN). */
static int read_filters(struct ksmp_inject *in)
{
	if (in->seccomp_mode != SECCOMP_MODE_FILTER)
		return 0;
	for (unsigned long i = 0;; i++) {
		long n = ptrace(PTRACE_SECCOMP_GET_FILTER, in->tid, i, NULL);
		if (n < 0 && errno == ENOENT && i > 0)
			return 0;
		if (n < 0)
			return seterr(in, -errno, "reading its seccomp filter "
				      "(PTRACE_SECCOMP_GET_FILTER needs CAP_SYS_ADMIN)");
		if (i >= KSMP_INJECT_MAX_FILTERS || n <= 0 || n > BPF_MAXINSNS)
			return seterr(in, -E2BIG, "its seccomp filters");
		struct ksmp_bpf_insn *p = calloc((size_t)n, sizeof(*p));
		if (!p)
			return -ENOMEM;
		in->filters[in->nfilters].insn = p;
		in->filters[in->nfilters].len = (unsigned)n;
		in->nfilters++;
		if (ptrace(PTRACE_SECCOMP_GET_FILTER, in->tid, i, p) != n)
			return seterr(in, -EIO, "reading its seccomp filter");
	}
}

int ksmp_inject_allowed(struct ksmp_inject *in, long nr, const uint64_t args[6])
{
	if (in->seccomp_mode == SECCOMP_MODE_STRICT) {
		snprintf(in->err, sizeof(in->err), "it runs in strict seccomp mode "
			 "(only read, write, _exit and sigreturn are allowed)");
		return 0;
	}
	struct seccomp_data d;
	memset(&d, 0, sizeof(d));
	d.nr = (int)nr;
	d.arch = AUDIT_ARCH_X86_64;
	d.instruction_pointer = in->sysaddr + 2;
	memcpy(d.args, args, sizeof(d.args));
	for (unsigned i = 0; i < in->nfilters; i++) {
		uint32_t r;
		if (ksmp_bpf_run(in->filters[i].insn, in->filters[i].len,
				 (const unsigned char *)&d, sizeof(d), &r) < 0) {
			snprintf(in->err, sizeof(in->err), "its seccomp filter %u "
				 "cannot be evaluated", i);
			return -EINVAL;
		}
		uint32_t act = r & SECCOMP_RET_ACTION_FULL;
		if (act == SECCOMP_RET_ALLOW)
			continue;
		const char *what = act == SECCOMP_RET_KILL_PROCESS ? "kill the process" :
			act == SECCOMP_RET_KILL_THREAD ? "kill the thread" :
			act == SECCOMP_RET_TRAP ? "send it SIGSYS" :
			act == SECCOMP_RET_ERRNO ? "make the call fail" :
			act == SECCOMP_RET_TRACE ? "hand the call to a tracer" :
			act == SECCOMP_RET_USER_NOTIF ? "hand the call to a supervisor" :
			act == SECCOMP_RET_LOG ? "log the call" : "do something unknown";
		snprintf(in->err, sizeof(in->err), "its seccomp filter would %s "
			 "(action 0x%08x for system call %ld)", what, r, nr);
		return 0;
	}
	return 1;
}

/*
 * Calls that return -EINTR rather than -ERESTART* when merely interrupted
 * (signal(7): the same happens after SIGSTOP/SIGCONT), in a form whose
 * re-execution is the same call: an infinite wait. We turn the -EINTR our
 * interrupt caused into a re-execution, unless a signal is pending that
 * the thread would take (then the program must see its EINTR).
 */
static bool eintr_restartable(const struct user_regs_struct *r)
{
	if ((long)r->rax != -EINTR || (long)r->orig_rax < 0)
		return false;
	switch (r->orig_rax) {
	case SYS_epoll_wait:
	case SYS_epoll_pwait:
		return (int)r->r10 == -1;
	case SYS_epoll_pwait2:
	case SYS_semtimedop:
		return r->r10 == 0;
	case SYS_rt_sigtimedwait:
		return r->rdx == 0;
	case SYS_semop:
		return true;
	case SYS_io_getevents:
		return r->r8 == 0;
	}
	return false;
}

/* Does the thread have a signal pending that it does not block? Assumes
 * so when it cannot tell. */
static bool unblocked_pending(pid_t tid)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	if (ksmp_read_small(path, buf, sizeof(buf)) <= 0)
		return true;
	const char *p = strstr(buf, "\nSigPnd:"), *s = strstr(buf, "\nShdPnd:"),
		*b = strstr(buf, "\nSigBlk:");
	if (!p || !s || !b)
		return true;
	unsigned long long pend = strtoull(p + 8, NULL, 16) | strtoull(s + 8, NULL, 16);
	return (pend & ~strtoull(b + 8, NULL, 16)) != 0;
}

/* Let the thread go from a stop inside get_signal() with its own registers
 * and the given signal. */
static int release(struct ksmp_inject *in, int sig)
{
	struct user_regs_struct r = in->saved;
	if (sig == 0 && in->eintr_restart && !unblocked_pending(in->tid)) {
		r.rax = r.orig_rax;	/* re-execute the call, as a restart would */
		r.rip -= 2;
	}
	int err = set_regs(in->tid, &r);
	if (ptrace(PTRACE_DETACH, in->tid, 0, sig) < 0 && !err)
		err = -errno;
	in->state = KSMP_INJ_DETACHED;
	in->stop_ns = now_ns() - in->t0_ns;
	block_signals(false);
	return err;
}

int ksmp_inject_begin(struct ksmp_inject *in, pid_t tid, uint64_t sysaddr)
{
	memset(in, 0, sizeof(*in));
	in->tid = tid;
	in->sysaddr = sysaddr;
	read_status(in);
	if (ptrace(PTRACE_SEIZE, tid, 0, PTRACE_O_TRACESYSGOOD) < 0)
		return seterr(in, -errno, "PTRACE_SEIZE");
	block_signals(true);
	in->t0_ns = now_ns();
	int err = ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0 ? -errno : 0;
	int st = 0;
	while (!err) {
		err = wait_stop_until(tid, &st, in->t0_ns + stop_timeout_ns());
		if (err)
			break;
		int ev = st >> 16, sig = WSTOPSIG(st);
		if (ev == PTRACE_EVENT_STOP && sig == SIGTRAP)
			break;			/* our interrupt stop */
		if (ev == PTRACE_EVENT_STOP) {	/* group-stop: it was stopped */
			ptrace(PTRACE_DETACH, tid, 0, 0);
			block_signals(false);
			snprintf(in->err, sizeof(in->err), "it was stopped by a signal");
			return -EBUSY;
		}
		/* A signal-delivery stop before ours: deliver it, wait on. */
		if (ptrace(PTRACE_CONT, tid, 0, ev ? 0 : sig) < 0)
			err = -errno;
	}
	if (err == -ESRCH) {
		block_signals(false);
		snprintf(in->err, sizeof(in->err), "it exited");
		return err;
	}
	if (err == -ETIMEDOUT) {
		/* It cannot be detached until it stops: the kernel detaches
		 * it when this process exits (should it stop before that, it
		 * waits for us until then). Nothing was changed. */
		block_signals(false);
		snprintf(in->err, sizeof(in->err), "it did not stop within %.1f s "
			 "(uninterruptible sleep, or a vfork parent): nothing was "
			 "changed", (double)stop_timeout_ns() / 1e9);
		in->state = KSMP_INJ_DETACHED;
		return err;
	}
	in->state = KSMP_INJ_EVENT;
	bool have_regs = false;
	if (!err)
		have_regs = !(err = get_regs(tid, &in->saved));
	if (!err && in->saved.cs != 0x33) {
		snprintf(in->err, sizeof(in->err), "the thread is not running "
			 "64-bit x86_64 code (cs=0x%llx)", in->saved.cs);
		err = -ENOEXEC;
	}
	in->eintr_restart = !err && eintr_restartable(&in->saved);
	ksmp_inject_test_pause("stop");
	if (!err)
		err = read_filters(in);
	if (err) {
		if (!in->err[0])
			seterr(in, err, "stopping it");
		free_filters(in);
		if (have_regs) {
			release(in, 0);
		} else {
			if (in->state == KSMP_INJ_EVENT)
				ptrace(PTRACE_DETACH, tid, 0, 0);
			in->state = KSMP_INJ_DETACHED;
			block_signals(false);
		}
	}
	return err;
}

/* Resume into the call and wait for its entry stop. Pending signals are
 * passed on (-EINTR). */
/* Set the thread's registers for one call from the `syscall` instruction;
 * orig_rax = -1 keeps the kernel's restart logic off it. */
static int call_regs(struct ksmp_inject *in, long nr, const uint64_t args[6],
		     struct user_regs_struct *r)
{
	*r = in->saved;
	if (in->state != KSMP_INJ_EVENT) {
		int err = get_regs(in->tid, r);
		if (err)
			return err;
	}
	r->rip = in->sysaddr;
	r->rax = (unsigned long long)nr;
	r->orig_rax = (unsigned long long)-1;
	r->rdi = args[0];
	r->rsi = args[1];
	r->rdx = args[2];
	r->r10 = args[3];
	r->r8 = args[4];
	r->r9 = args[5];
	return set_regs(in->tid, r);
}

static int enter_call(struct ksmp_inject *in, long nr, const uint64_t args[6])
{
	struct user_regs_struct r;
	int err = call_regs(in, nr, args, &r);
	if (!err && ptrace(PTRACE_SYSCALL, in->tid, 0, 0) < 0)
		err = -errno;
	int st;
	if (!err)
		err = wait_stop(in->tid, &st);
	if (err)
		return err;
	if (WSTOPSIG(st) == SYSCALL_STOP)
		return 0;
	if ((st >> 16) == 0) {
		/* A signal came first: we are in get_signal(), give it back. */
		release(in, WSTOPSIG(st));
		snprintf(in->err, sizeof(in->err), "a signal (%d) arrived; it was "
			 "delivered", WSTOPSIG(st));
		return -EINTR;
	}
	return -EPROTO;
}

/* The end of one injected call, in stop state (or an error from getting
 * there): its return value, or -EINTR when a signal cut it short. */
static int call_result(struct ksmp_inject *in, int err,
		       const struct user_regs_struct *r,
		       enum ksmp_inject_state state, long *ret)
{
	if (err == -ESRCH) {
		in->state = KSMP_INJ_DETACHED;
		return seterr(in, err, "the target");
	}
	if (err)
		return seterr(in, err, "injecting a system call");
	in->state = state;
	*ret = (long)r->rax;
	if (*ret >= -516 && *ret <= -512) {
		/* Interrupted by a signal before it could finish. */
		snprintf(in->err, sizeof(in->err), "a signal interrupted the call");
		ksmp_inject_end(in);
		return -EINTR;
	}
	in->calls++;
	return 0;
}

/*
 * The single-step way: one stop per call. Resumed with PTRACE_SINGLESTEP
 * at the `syscall` instruction, the thread runs the call and, on its way
 * out, gets a SIGTRAP (TRAP_BRKPT) whose signal-delivery stop comes before
 * any other signal (synchronous signals are dequeued first). That stop is
 * inside get_signal(): the next call, or the original registers, are set
 * right there, and the SIGTRAP is dropped by resuming with signal 0.
 */
static int step_call(struct ksmp_inject *in, long nr, const uint64_t args[6],
		     long *ret)
{
	struct user_regs_struct r;
	int err = call_regs(in, nr, args, &r);
	if (!err && in->calls == 0)
		ksmp_inject_test_pause("call");
	if (!err && ptrace(PTRACE_SINGLESTEP, in->tid, 0, 0) < 0)
		err = -errno;
	int st = 0;
	if (!err)
		err = wait_stop(in->tid, &st);
	if (!err)
		err = get_regs(in->tid, &r);
	if (!err && (st >> 16) != 0)
		err = -EPROTO;
	if (!err && (WSTOPSIG(st) != SIGTRAP || r.rip != in->sysaddr + 2)) {
		/* A signal came before the call ran: give it back. */
		release(in, WSTOPSIG(st));
		snprintf(in->err, sizeof(in->err), "a signal (%d) arrived; it was "
			 "delivered", WSTOPSIG(st));
		return -EINTR;
	}
	return call_result(in, err, &r, KSMP_INJ_TRAP, ret);
}

int ksmp_inject_syscall(struct ksmp_inject *in, long nr, const uint64_t args[6],
			long *ret)
{
	if (in->state == KSMP_INJ_DETACHED)
		return -ESRCH;
	if (in->step)
		return step_call(in, nr, args, ret);
	int err = enter_call(in, nr, args);
	if (err == -EINTR || err == -ESRCH)
		return err;
	if (!err) {
		if (in->calls == 0)
			ksmp_inject_test_pause("call");
		if (ptrace(PTRACE_SYSCALL, in->tid, 0, 0) < 0)
			err = -errno;
	}
	int st;
	if (!err)
		err = wait_stop(in->tid, &st);
	if (!err && WSTOPSIG(st) != SYSCALL_STOP)
		err = -EPROTO;
	struct user_regs_struct r;
	if (!err)
		err = get_regs(in->tid, &r);
	return call_result(in, err, &r, KSMP_INJ_SYSEXIT, ret);
}

int ksmp_inject_finish_write(struct ksmp_inject *in)
{
	struct user_regs_struct *r = &in->saved;
	long nr = (long)r->orig_rax;
	long n = (long)r->rax;
	if ((nr != SYS_write && nr != SYS_pwrite64 && (nr != SYS_sendto || r->r8)) ||
	    n <= 0 || (unsigned long long)n >= r->rdx)
		return 0;
	for (int rounds = 0; (unsigned long long)r->rax < r->rdx; rounds++) {
		unsigned long long done = r->rax;
		uint64_t args[6] = { r->rdi, r->rsi + done, r->rdx - done,
				     nr == SYS_pwrite64 ? r->r10 + done : r->r10,
				     r->r8, r->r9 };
		if (rounds == 0) {
			int a = ksmp_inject_allowed(in, nr, args);
			if (a != 1)
				return a < 0 ? a : 0;
		}
		long ret;
		int err = ksmp_inject_syscall(in, nr, args, &ret);
		if (err)
			return err;
		if (ret <= 0)
			break;	/* an error now: the count written stands */
		r->rax = done + (unsigned long long)ret;
	}
	return 1;
}

static bool needs_restart(const struct user_regs_struct *r)
{
	long ax = (long)r->rax;
	return (long)r->orig_rax >= 0 && ax >= -516 && ax <= -512;
}

int ksmp_inject_end(struct ksmp_inject *in)
{
	int err = 0;
	if (in->state == KSMP_INJ_SYSEXIT && needs_restart(&in->saved)) {
		/* Back into get_signal() for the kernel's restart logic. */
		int st;
		if (ptrace(PTRACE_INTERRUPT, in->tid, 0, 0) < 0 ||
		    ptrace(PTRACE_CONT, in->tid, 0, 0) < 0)
			err = -errno;
		if (!err)
			err = wait_stop(in->tid, &st);
		if (!err && (st >> 16) == 0) {
			/* a signal-delivery stop, also inside get_signal() */
			free_filters(in);
			return release(in, WSTOPSIG(st));
		}
	}
	free_filters(in);
	if (err == -ESRCH || in->state == KSMP_INJ_DETACHED) {
		if (masked)
			in->stop_ns = now_ns() - in->t0_ns;
		block_signals(false);
		in->state = KSMP_INJ_DETACHED;
		return err;
	}
	int e2 = release(in, 0);
	return err ? err : e2;
}
