/*
 * wait.c - pause() and sigsuspend() interposers.
 *
 * Both are defined to return once a signal handler has run, and programs
 * take that to mean that their own signal came. The control agent's
 * real-time signal (control.c) would end such a wait although none of the
 * program's handlers ran. So while the program waits, the control signal
 * is blocked and taken synchronously with sigwaitinfo(): a command that
 * arrives is carried out at once and the wait goes on; any of the
 * program's own signals runs its handler, which ends sigwaitinfo() with
 * EINTR, and the wait returns -1/EINTR as the real one would. The mask in
 * force during the wait is the program's (pause: the current one;
 * sigsuspend: the one it passed), plus the control signal.
 *
 * Never: allocate, or return anything but what the real call would.
 */
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "control.h"
#include "lib.h"

static int control_signal(void)
{
	int sig = __atomic_load_n(&ksmp_st->signo, __ATOMIC_ACQUIRE);
	return sig > 0 && sig < NSIG ? sig : 0;
}

/* Wait with mask (plus sig) in force until one of the program's handlers
 * has run; carry out control commands meanwhile. Returns -1 with errno
 * EINTR, as the real call does, or -2 when the caller should fall back to
 * the real call. */
static int wait_serving(const sigset_t *mask, int sig)
{
	sigset_t during = *mask, only, old;
	sigaddset(&during, sig);
	sigemptyset(&only);
	sigaddset(&only, sig);
	if (pthread_sigmask(SIG_SETMASK, &during, &old) != 0)
		return -2;
	int r;
	for (;;) {
		siginfo_t si;
		r = sigwaitinfo(&only, &si);
		if (r != sig)
			break;
		ksmp_control_deliver(sig, &si);
	}
	/* EINTR: a handler of the program ran, the wait is over. Anything
	 * else cannot happen with a valid set; let the real call wait. */
	int interrupted = r < 0 && errno == EINTR;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!interrupted)
		return -2;
	errno = EINTR;
	return -1;
}

KSMP_EXPORT int sigsuspend(const sigset_t *mask)
{
	ksmp_need_real();
	int sig = control_signal();
	/* glibc declares mask nonnull, but a NULL must still get the real
	 * call's EFAULT rather than a crash in our copy. */
	const sigset_t *volatile mp = mask;
	if (sig && mp) {
		int r = wait_serving(mask, sig);
		if (r != -2)
			return r;
	}
	if (!ksmp_real.sigsuspend) {
		errno = ENOSYS;
		return -1;
	}
	return ksmp_real.sigsuspend(mask);
}

KSMP_EXPORT int pause(void)
{
	ksmp_need_real();
	int sig = control_signal();
	sigset_t cur;
	if (sig && pthread_sigmask(SIG_BLOCK, NULL, &cur) == 0) {
		int r = wait_serving(&cur, sig);
		if (r != -2)
			return r;
	}
	if (!ksmp_real.pause) {
		errno = ENOSYS;
		return -1;
	}
	return ksmp_real.pause();
}
