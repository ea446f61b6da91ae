/*
 * sender.c - the mergefs side of the control protocol
 * (include/ksmp_state.h): fill the command, queue the target's control
 * signal through its pidfd, wait on ack_seq with a timeout.
 *
 * A target that blocks the signal, is stopped or does not answer makes the
 * write fail with ETIMEDOUT after the timeout; the request is then
 * withdrawn (KSMP_SEQ_WITHDRAWN set in req_seq) so that the signal, if it
 * is delivered later, is rejected by the handler instead of running a
 * stale command. Sequence numbers are never given back: the next command
 * takes the next number, so an acknowledgement of an old, late command
 * can never be taken for the new one's.
 *
 * Across user namespaces: the target's agent sees our uid as the kernel
 * maps it into its namespace, the overflow uid when it is not mapped
 * (host root and a rootless container); it then takes the command only
 * with the nonce we put in the block for it. steer_check() (proc.c)
 * refuses up front, with EPERM, a target whose agent would reject us.
 *
 * Bounds (mergefs(8), LIMITS): a writer waits for the target's command
 * lock and its answer together at most the timeout: a second writer to a
 * target that is busy for longer gets EBUSY, never waits past it.
 */
#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mergefs.h"

/* Slice of one futex wait: how soon an exited target is noticed. */
#define SLICE_MS 20

/* The signal's value: the sequence number and, where a pointer has room
 * for it, the nonce above it (include/ksmp_state.h, step 2). */
static int send_queued(int pidfd, int sig, uint32_t seq, uint32_t nonce)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	si.si_signo = sig;
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = getuid();
	uint64_t value = seq;
	if (sizeof(void *) >= sizeof(uint64_t))
		value |= (uint64_t)nonce << 32;
	si.si_value.sival_ptr = (void *)(uintptr_t)value;
	return syscall(SYS_pidfd_send_signal, pidfd, sig, &si, 0) == 0 ? 0 : -errno;
}

/* A random number other than 0: the proof of block access that lets a
 * sender outside the target's user namespace be trusted. */
static uint32_t fresh_nonce(void)
{
	uint32_t n = 0;
	for (int i = 0; i < 4 && n == 0; i++)
		if (getrandom(&n, sizeof(n), 0) != (ssize_t)sizeof(n))
			n = 0;
	return n;	/* 0 only if the kernel gives no randomness: no proof */
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The block names the signal, and the block is the target's own memory:
 * send only a real-time signal that the target really catches, so that a
 * corrupt block can never get its process killed or stopped by a command. */
static int signal_caught(pid_t pid, int sig)
{
	struct pstatus ps;
	if (sig < SIGRTMIN || sig > SIGRTMAX || proc_status(pid, &ps) < 0)
		return 0;
	return (ps.sigcgt >> (sig - 1)) & 1;
}

/* The number after the block's last request, withdrawn or not: never one
 * used before (nor 0, nor one with the withdrawn bit). */
static uint32_t next_seq(const struct ksmp_ctl *c)
{
	uint32_t last = __atomic_load_n(&c->req_seq, __ATOMIC_ACQUIRE) & ~KSMP_SEQ_WITHDRAWN;
	uint32_t ack = __atomic_load_n(&c->ack_seq, __ATOMIC_ACQUIRE) & ~KSMP_SEQ_WITHDRAWN;
	uint32_t n = ((last > ack ? last : ack) + 1) & ~KSMP_SEQ_WITHDRAWN;
	return n ? n : 1;
}

static int clamp_result(int r)
{
	return r > 0 || r < -4095 ? -EIO : r;
}

/* Wait for the answer to req until deadline: 0 or -errno as
 * target_command() says. */
static int wait_ack(struct target *t, uint32_t req, long long deadline)
{
	struct ksmp_ctl *c = &t->st->ctl;
	for (;;) {
		uint32_t now_ack = __atomic_load_n(&c->ack_seq, __ATOMIC_ACQUIRE);
		if (now_ack == req)
			return clamp_result(__atomic_load_n(&c->result, __ATOMIC_ACQUIRE));
		long long left = deadline - mono_ms();
		if (left <= 0) {
			/* Withdraw, then look once more: it may just have
			 * answered. A command the agent already started may
			 * still finish; its late answer names its own number. */
			uint32_t expect = req;
			__atomic_compare_exchange_n(&c->req_seq, &expect, req | KSMP_SEQ_WITHDRAWN, 0,
						    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
			if (__atomic_load_n(&c->ack_seq, __ATOMIC_ACQUIRE) == req)
				return clamp_result(__atomic_load_n(&c->result, __ATOMIC_ACQUIRE));
			return -ETIMEDOUT;
		}
		if (!target_alive(t))
			return -ENOENT;
		if (left > SLICE_MS)
			left = SLICE_MS;
		struct timespec ts = { .tv_sec = left / 1000, .tv_nsec = (left % 1000) * 1000000 };
		syscall(SYS_futex, &c->ack_seq, FUTEX_WAIT, now_ack, &ts, NULL, 0);
	}
}

/* Take t's command lock by deadline_ms (CLOCK_MONOTONIC); 0 or -EBUSY. */
static int lock_until(struct target *t, long long deadline_ms)
{
	struct timespec abs = { .tv_sec = deadline_ms / 1000,
				.tv_nsec = (deadline_ms % 1000) * 1000000 };
	return pthread_mutex_clocklock(&t->cmd_lock, CLOCK_MONOTONIC, &abs) == 0 ? 0 : -EBUSY;
}

int target_command(struct target *t, uint32_t cmd, uint64_t addr,
		   uint64_t len, uid_t sender, int timeout_ms)
{
	struct ksmp_state *st = t->st;
	struct ksmp_ctl *c = &st->ctl;
	long long deadline = mono_ms() + timeout_ms;
	int r;

	if (lock_until(t, deadline) < 0)
		return -EBUSY;	/* another command holds it past our bound */
	if (!target_alive(t)) {
		r = -ENOENT;
		goto out;
	}
	int sig = __atomic_load_n(&st->signo, __ATOMIC_ACQUIRE);
	uint32_t flags = __atomic_load_n(&st->flags, __ATOMIC_ACQUIRE);
	int caught = (flags & KSMP_STF_CONTROL) && signal_caught(t->pid, sig);
	int allowed = steer_check(t);
	/* Both read /proc/PID by number: what they read is our process's
	 * only if it is still alive after the reads. A process killed
	 * meanwhile shows no handlers, and its pid may already be another
	 * process's: that is ENOENT, not "not steerable" nor EPERM. */
	if (!target_alive(t))
		r = -ENOENT;
	else if (!caught)
		r = -EOPNOTSUPP;
	else
		r = allowed;	/* the agent would reject us: say so now, not after the timeout */
	if (r < 0)
		goto out;
	uint32_t req = next_seq(c);
	c->cmd = cmd;
	c->addr = addr;
	c->len = len;
	c->sender_uid = (uint32_t)sender;
	c->result = 0;
	uint32_t nonce = sizeof(void *) >= sizeof(uint64_t) ? fresh_nonce() : 0;
	__atomic_store_n(&c->nonce, nonce, __ATOMIC_RELAXED);
	__atomic_store_n(&c->req_seq, req, __ATOMIC_RELEASE);
	r = send_queued(t->pidfd, sig, req, nonce);
	if (r < 0) {
		__atomic_store_n(&c->req_seq, req | KSMP_SEQ_WITHDRAWN, __ATOMIC_RELEASE);
		r = r == -ESRCH ? -ENOENT : r;
		goto out;
	}
	r = wait_ack(t, req, deadline);
out:
	if (target_hit(t))
		r = -EIO;	/* the block shrank: nothing we read is real */
	pthread_mutex_unlock(&t->cmd_lock);
	return r;
}
