/*
 * wait.c - pause() and sigsuspend() interposers.
 *
 * Both are defined to return once a signal handler has run, and programs
 * take that to mean that their own signal came. The control agent's
 * real-time signal (control.c) would end such a wait although none of the
 * program's handlers ran. So the wait is done with ppoll(): it installs
 * the program's mask plus the control signal atomically, exactly as
 * sigsuspend() installs the program's mask (a signal that was pending and
 * becomes unblocked is taken at once, never lost), and it also watches a
 * signalfd for the control signal. A program signal runs its handler and
 * ends the wait with EINTR, as the real call does; a control signal is
 * carried out and the wait goes on.
 *
 * The signalfd lives only for the wait. When it cannot be had (no free
 * descriptor), the real call is made and a command may end the wait, as
 * without this file. A control signal left pending when the wait ends
 * (the program's mask blocks it) is taken by the handler once the
 * program unblocks it, or the command times out in mergefs.
 *
 * Never: allocate, or return anything but what the real call would.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "control.h"
#include "lib.h"

static int control_signal(void)
{
	int sig = __atomic_load_n(&ksmp_st->signo, __ATOMIC_ACQUIRE);
	return sig > 0 && sig < NSIG ? sig : 0;
}

/* A control signal still pending after the wait (the program's own mask
 * blocks it, so the handler could not take it): carry it out. */
static void drain(int sfd, int sig)
{
	struct signalfd_siginfo fi;
	while (read(sfd, &fi, sizeof(fi)) == (ssize_t)sizeof(fi)) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		si.si_signo = (int)fi.ssi_signo;
		si.si_code = fi.ssi_code;
		si.si_pid = (pid_t)fi.ssi_pid;
		si.si_uid = (uid_t)fi.ssi_uid;
		si.si_value.sival_ptr = (void *)(uintptr_t)fi.ssi_ptr;	/* all 64 bits: seq and nonce */
		ksmp_control_deliver(sig, &si);
	}
}

/* Wait with mask (plus sig) in force until one of the program's handlers
 * has run; carry out control commands meanwhile. Returns -1 with errno
 * EINTR, as the real call does, or -2 when the caller should fall back to
 * the real call. */
static int wait_serving(const sigset_t *mask, int sig)
{
	sigset_t during = *mask, only, all, old;
	sigaddset(&during, sig);
	sigemptyset(&only);
	sigaddset(&only, sig);
	sigfillset(&all);
	int saved = errno;
	/* Outside ppoll() everything is blocked: when ppoll() returns for a
	 * command, a program signal that came meanwhile stays pending (its
	 * handler has not run) and ends the next ppoll() at once. */
	if (pthread_sigmask(SIG_SETMASK, &all, &old) != 0) {
		errno = saved;
		return -2;
	}
	int sfd = signalfd(-1, &only, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		errno = saved;
		return -2;
	}
	struct pollfd p = { .fd = sfd, .events = POLLIN };
	int r;
	for (;;) {
		r = ppoll(&p, 1, NULL, &during);
		if (r < 0)
			break;
		drain(sfd, sig);	/* only the control signal came */
	}
	int err = errno;
	close(sfd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != EINTR) {
		errno = saved;
		return -2;	/* cannot happen: let the real call wait */
	}
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
