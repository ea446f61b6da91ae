/*
 * control.c - the in-process control agent: carries out mergefs commands
 * inside the target (include/ksmp_state.h, "Control protocol").
 *
 * Design: a real-time signal and no thread, so that a single-threaded
 * program can still unshare(CLONE_NEWUSER) and nothing needs re-creating
 * after fork (dispositions are inherited). The signal is chosen at init
 * from SIGRTMAX downwards among signals whose disposition is SIG_DFL and
 * that the initial thread does not block. The program keeps every signal:
 * sigaction(), signal() and its aliases, sysv_signal() and sigset() are
 * interposed, and when the program installs anything but SIG_DFL on our
 * signal we first move to another free one (st->signo follows), then hand
 * the call through unchanged; the old action it gets back is what it would
 * have got without us (SIG_DFL, no flags, empty mask).
 *
 * Side effects (documented in mergefs(8)): a command interrupts one thread
 * of the target, so calls that never restart (poll, epoll_wait, nanosleep,
 * ...) may return EINTR there, as with any signal.
 *
 * Authentication: the command itself lives in the state block, which only
 * a process with CAP_SYS_ADMIN can map (/proc/PID/map_files); the handler
 * acts only on SI_QUEUE signals whose value is the pending sequence number
 * (req_seq, not yet acknowledged, not withdrawn) and the block's nonce
 * (when the sender set one), one command at a time, and whose sender uid,
 * as the kernel translated it into our user namespace, is 0 or ours, or
 * is the overflow uid with a matching nonce: a sender outside our user
 * namespace (host root, for a rootless container) arrives as the overflow
 * uid, which a process inside could claim too, so for it the nonce, which
 * only a reader of the block can know, is the proof. Anything else is
 * counted in ctl.rejected and ignored.
 *
 * Never: allocate, lock, or touch stdio in the handler; change errno as
 * seen by the interrupted code or by the program's signal calls.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ksmp_state.h"
#include "control.h"
#include "engine.h"
#include "sys.h"

#define KSMP_EXPORT __attribute__((visibility("default")))

/* glibc's own entry point, exported since 2.2.5: the real sigaction
 * without a dlsym (which may allocate) in the constructor. */
extern int __sigaction(int sig, const struct sigaction *act,
		       struct sigaction *oact);

/* The state block the handler serves; NULL = no agent. */
static struct ksmp_state *volatile ctl_state;
/* Our signal now, 0 = none. Written with the signal calls serialised by
 * the program (it races with itself otherwise), read by the handler. */
static volatile int ctl_signo;
/* Signals the program has claimed (installed a handler or SIG_IGN on):
 * we never pick them again. A plain bit set keeps this lock-free. */
static volatile uint64_t ctl_claimed;
/* Sequence being carried out, 0 when none: one command at a time, so that
 * a forged duplicate signal handled in a second thread cannot run the same
 * command twice, nor a late one race the next. */
static uint32_t ctl_busy;
/* The kernel's overflow uid (/proc/sys/kernel/overflowuid): what si_uid
 * says for a sender whose uid our user namespace does not map. Read at
 * start (ksmp_control_init), not in the signal handler: by the time a
 * command comes the program may have entered a seccomp sandbox or a
 * chroot where that open would kill it or read another file; -1 until
 * then. */
static volatile long ctl_overflow_uid = -1;
/* Does a signal's value carry the nonce above the sequence number? */
#define NONCE_FITS (sizeof(void *) >= sizeof(uint64_t))

static int sig_bit_ok(int sig)
{
	return sig > 0 && sig <= 64;
}

static int claimed(int sig)
{
	return sig_bit_ok(sig) &&
	       (__atomic_load_n(&ctl_claimed, __ATOMIC_RELAXED) >> (sig - 1)) & 1;
}

static void claim(int sig)
{
	if (sig_bit_ok(sig))
		__atomic_fetch_or(&ctl_claimed, 1ull << (sig - 1), __ATOMIC_RELAXED);
}

static int run_command(uint32_t cmd, uint64_t addr, uint64_t len)
{
	switch (cmd) {
	case KSMP_CMD_UNMERGE:
		return ksmp_engine_unmerge_all();
	case KSMP_CMD_MERGE:
		return ksmp_engine_merge_all();
	case KSMP_CMD_RANGE_MERGE:
		return ksmp_engine_range(addr, len, MADV_MERGEABLE);
	case KSMP_CMD_RANGE_UNMERGE:
		return ksmp_engine_range(addr, len, MADV_UNMERGEABLE);
	case KSMP_CMD_RANGE_PRUNE:
		return ksmp_engine_auto(addr, len, 1);
	case KSMP_CMD_RANGE_PROBE:
		return ksmp_engine_auto(addr, len, 0);
	case KSMP_CMD_PAGES_UNMERGE:
		return ksmp_engine_pages(addr, len, MADV_UNMERGEABLE);
	case KSMP_CMD_PAGES_MERGE:
		return ksmp_engine_pages(addr, len, MADV_MERGEABLE);
	case KSMP_CMD_PING:
		return 0;
	default:
		return -EINVAL;
	}
}

/* Is the sender one we take commands from (see the top of the file)?
 * nonce_ok: it gave the block's nonce, and the block has one. */
static uid_t overflow_uid(void);

static int sender_ok(const siginfo_t *si, int nonce_ok)
{
	return si->si_uid == 0 || si->si_uid == getuid() ||
	       (nonce_ok && si->si_uid == overflow_uid());
}

/* How many times the handler ran on this thread: write.c tells by it that
 * a short write was our signal's doing. */
__thread unsigned ksmp_ctl_interrupts __attribute__((tls_model("initial-exec")));

static void handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	int saved = errno;
	ksmp_ctl_interrupts++;
	struct ksmp_state *st = ctl_state;
	if (!st || sig != ctl_signo)
		goto out;
	struct ksmp_ctl *c = &st->ctl;
	uint32_t req = __atomic_load_n(&c->req_seq, __ATOMIC_ACQUIRE);
	uint32_t ack = __atomic_load_n(&c->ack_seq, __ATOMIC_ACQUIRE);
	/* A 32-bit signal value has no room for the nonce: then none is
	 * checked, nor any sender from outside the namespace taken. */
	uint32_t nonce = NONCE_FITS ? __atomic_load_n(&c->nonce, __ATOMIC_ACQUIRE) : 0;
	uint64_t value = (uint64_t)(uintptr_t)si->si_value.sival_ptr;
	uint32_t idle = 0;
	if (si->si_code != SI_QUEUE || (uint32_t)value != req ||
	    req == 0 || (req & KSMP_SEQ_WITHDRAWN) || req == ack ||
	    (nonce != 0 && (uint32_t)(value >> 32) != nonce) ||
	    !sender_ok(si, nonce != 0) ||
	    !__atomic_compare_exchange_n(&ctl_busy, &idle, req, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
		__atomic_fetch_add(&c->rejected, 1, __ATOMIC_RELAXED);
		goto out;
	}
	/* Our copy, then the number again: a sender that withdrew the
	 * request may be filling in the next one. */
	uint32_t cmd = c->cmd;
	uint64_t addr = c->addr, len = c->len;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&c->req_seq, __ATOMIC_RELAXED) != req) {
		__atomic_fetch_add(&c->rejected, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&ctl_busy, 0, __ATOMIC_RELEASE);
		goto out;
	}
	int r = run_command(cmd, addr, len);
	__atomic_store_n(&c->result, r, __ATOMIC_RELAXED);
	__atomic_fetch_add(&c->commands, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&c->ack_seq, req, __ATOMIC_RELEASE);
	syscall(SYS_futex, &c->ack_seq, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
	__atomic_store_n(&ctl_busy, 0, __ATOMIC_RELEASE);
out:
	errno = saved;
}

/* Is sig free for us: default disposition, not blocked here, never
 * claimed by the program? */
static int sig_free(int sig, const sigset_t *blocked)
{
	struct sigaction old;
	if (claimed(sig) || sigismember(blocked, sig) == 1)
		return 0;
	if (__sigaction(sig, NULL, &old) != 0)
		return 0;
	return !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL;
}

/* The initial thread's blocked signals at start, when the agent starts
 * later (ksmp_control_note_start). */
static sigset_t start_blocked;
static int start_noted;

void ksmp_control_note_start(void)
{
	start_noted = ksmp_sys_sigmask(&start_blocked) == 0;
}

/* Install the handler on the highest free RT signal other than avoid, of
 * those not in *mask (NULL: those this thread does not block). Returns
 * the signal or 0. */
static int take_signal(int avoid, const sigset_t *mask)
{
	sigset_t blocked;
	sigemptyset(&blocked);
	if (mask)
		blocked = *mask;
	else
		sigprocmask(SIG_BLOCK, NULL, &blocked);
	for (int sig = SIGRTMAX; sig >= SIGRTMIN; sig--) {
		if (sig == avoid || !sig_free(sig, &blocked))
			continue;
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = handler;
		sa.sa_flags = SA_SIGINFO | SA_RESTART;
		sigemptyset(&sa.sa_mask);
		if (__sigaction(sig, &sa, NULL) == 0)
			return sig;
	}
	return 0;
}

static void publish(struct ksmp_state *st, int sig)
{
	if (!st)
		return;
	__atomic_store_n(&st->signo, sig, __ATOMIC_RELEASE);
	if (sig)
		__atomic_fetch_or(&st->flags, KSMP_STF_CONTROL | (NONCE_FITS ? KSMP_STF_NONCE : 0),
				  __ATOMIC_RELEASE);
	else
		__atomic_fetch_and(&st->flags, ~KSMP_STF_CONTROL, __ATOMIC_RELEASE);
}

ssize_t ksmp_read_small(const char *path, char *buf, size_t sz)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sz - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

/* The kernel's overflow uid, read once at start (it is a sysctl: root may
 * change it later; a sender then unknown is simply rejected). 65534, the
 * kernel's default, when unreadable. */
static uid_t overflow_uid(void)
{
	long cached = ctl_overflow_uid;
	if (cached >= 0)
		return (uid_t)cached;
	char buf[16];
	uid_t v = 65534;
	ssize_t n = ksmp_read_small("/proc/sys/kernel/overflowuid", buf, sizeof(buf));
	if (n > 0) {
		uid_t u = 0;
		ssize_t i = 0;
		for (; i < n && buf[i] >= '0' && buf[i] <= '9' && u < 100000000; i++)
			u = u * 10 + (uid_t)(buf[i] - '0');
		if (i > 0)
			v = u;
	}
	ctl_overflow_uid = (long)v;
	return v;
}

int ksmp_control_init(struct ksmp_state *st)
{
	if (!st)
		return -EINVAL;
	int saved = errno;
	/* started when the block was first needed, perhaps in a thread that
	 * blocks every signal: chosen as it would have been at start */
	int sig = take_signal(0, start_noted ? &start_blocked : NULL);
	(void)overflow_uid();
	ctl_signo = sig;
	ctl_state = st;
	publish(st, sig);
	errno = saved;
	return sig ? 0 : -EBUSY;
}

void ksmp_control_after_fork(struct ksmp_state *st)
{
	/* Dispositions survive fork: only the block changed. */
	ctl_state = st;
	__atomic_store_n(&ctl_busy, 0, __ATOMIC_RELAXED);
	publish(st, ctl_signo);
}

/*
 * The program is about to set a disposition on sig. If it is ours and the
 * new one is not SIG_DFL, move the agent first. Returns 1 when the old
 * disposition the program gets back must read as SIG_DFL.
 */
static int before_set(int sig, int is_default)
{
	if (sig != ctl_signo || sig == 0)
		return sig == ctl_signo && sig != 0;
	if (is_default)
		return 1;	/* keep it: the program did not take it */
	claim(sig);
	int nsig = take_signal(sig, NULL);
	ctl_signo = nsig;
	publish(ctl_state, nsig);
	return 1;
}

static int is_ours(const struct sigaction *sa)
{
	return (sa->sa_flags & SA_SIGINFO) && sa->sa_sigaction == handler;
}

KSMP_EXPORT int sigaction(int sig, const struct sigaction *act,
			  struct sigaction *oact)
{
	int ours = 0;
	if (act && sig == ctl_signo && ctl_signo) {
		int dfl = !(act->sa_flags & SA_SIGINFO) && act->sa_handler == SIG_DFL;
		ours = before_set(sig, dfl);
		if (dfl) {
			/* The program resets what it believes is SIG_DFL: keep
			 * our handler and report the default back. */
			if (oact) {
				memset(oact, 0, sizeof(*oact));
				oact->sa_handler = SIG_DFL;
				sigemptyset(&oact->sa_mask);
			}
			return 0;
		}
	} else if (act && !(!(act->sa_flags & SA_SIGINFO) && act->sa_handler == SIG_DFL)) {
		claim(sig);
	}
	int r = __sigaction(sig, act, oact);
	if (r == 0 && oact && (ours || is_ours(oact))) {
		int e = errno;
		memset(oact, 0, sizeof(*oact));
		oact->sa_handler = SIG_DFL;
		sigemptyset(&oact->sa_mask);
		errno = e;
	}
	return r;
}

typedef void (*sighandler_fn)(int);

/* Not declared by <signal.h> in every feature mode. */
sighandler_fn bsd_signal(int sig, sighandler_fn h);
sighandler_fn sysv_signal(int sig, sighandler_fn h);
sighandler_fn sigset(int sig, sighandler_fn h);

static void *next_sym(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

/* Common path for the handler-returning calls. */
static sighandler_fn set_handler(const char *name, void **cache, int sig,
				 sighandler_fn h)
{
	sighandler_fn (*real)(int, sighandler_fn) = __atomic_load_n(cache, __ATOMIC_ACQUIRE);
	if (!real) {
		int e = errno;
		real = (sighandler_fn (*)(int, sighandler_fn))next_sym(name);
		errno = e;
		if (!real) {
			errno = ENOSYS;
			return SIG_ERR;
		}
		__atomic_store_n(cache, (void *)real, __ATOMIC_RELEASE);
	}
	int ours = 0;
	if (sig == ctl_signo && ctl_signo) {
		if (h == SIG_DFL)
			return SIG_DFL;	/* keep ours; the program sees default */
		ours = before_set(sig, 0);
	} else if (h != SIG_DFL) {
		claim(sig);
	}
	sighandler_fn old = real(sig, h);
	if (ours && old != SIG_ERR)
		old = SIG_DFL;
	return old;
}

static void *real_signal, *real_bsd_signal, *real_sysv_signal, *real_sigset;

KSMP_EXPORT sighandler_fn signal(int sig, sighandler_fn h)
{
	return set_handler("signal", &real_signal, sig, h);
}

KSMP_EXPORT sighandler_fn bsd_signal(int sig, sighandler_fn h)
{
	return set_handler("bsd_signal", &real_bsd_signal, sig, h);
}

KSMP_EXPORT sighandler_fn sysv_signal(int sig, sighandler_fn h)
{
	return set_handler("sysv_signal", &real_sysv_signal, sig, h);
}

KSMP_EXPORT sighandler_fn sigset(int sig, sighandler_fn h)
{
	/* SIG_HOLD only blocks the signal: that does not take it from us,
	 * and mergefs then reports ETIMEDOUT, as for any blocked signal. */
	if (h == SIG_HOLD && sig == ctl_signo && ctl_signo) {
		sighandler_fn (*real)(int, sighandler_fn) =
			(sighandler_fn (*)(int, sighandler_fn))next_sym("sigset");
		if (!real)
			return SIG_ERR;
		sighandler_fn old = real(sig, h);
		return old == SIG_ERR || old == SIG_HOLD ? old : SIG_DFL;
	}
	return set_handler("sigset", &real_sigset, sig, h);
}

/* A control signal taken synchronously (wait.c: while the program waits
 * in pause() or sigsuspend()) is carried out exactly as if delivered. */
void ksmp_control_deliver(int sig, siginfo_t *si)
{
	handler(sig, si, NULL);
}
