/*
 * mergefs_agent - the in-process control agent (preload/control.c) on its
 * own: signal choice, moving away from a signal the program takes, what
 * the program's signal calls see, the handler's authentication, errno,
 * fork, and unshare(CLONE_NEWUSER) still working (no thread); a sender
 * shown as the overflow uid (outside our user namespace) is taken only
 * with the block's nonce, which also binds every other sender once set.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../tap.h"
#include "mergefs_fake.h"
#include "control.h"

static volatile int own_hits;

static void own_handler(int sig)
{
	(void)sig;
	own_hits++;
}

/* One command through the real protocol, to ourselves. */
static int self_command(struct ksmp_state *st, uint32_t cmd, uint64_t addr,
			uint64_t len, int value_delta)
{
	struct ksmp_ctl *c = &st->ctl;
	uint32_t req = c->ack_seq + 1;
	c->cmd = cmd;
	c->addr = addr;
	c->len = len;
	c->result = 12345;
	__atomic_store_n(&c->req_seq, req, __ATOMIC_RELEASE);
	union sigval v = { .sival_int = (int)(req + (uint32_t)value_delta) };
	if (sigqueue(getpid(), st->signo, v) != 0)
		return -1000;
	if (__atomic_load_n(&c->ack_seq, __ATOMIC_ACQUIRE) != req) {
		__atomic_store_n(&c->req_seq, c->ack_seq, __ATOMIC_RELEASE);
		return -2000;	/* not acknowledged */
	}
	return c->result;
}

/* A ping whose signal claims sender uid `uid` and carries `given` above
 * the sequence number, with the block's nonce set to `nonce`; in our own
 * namespace the kernel passes si_uid through as given, so this is what a
 * forger inside a container could send. 0 when carried out, -2000 not. */
static int forged_ping(struct ksmp_state *st, uid_t uid, uint32_t nonce, uint32_t given)
{
	struct ksmp_ctl *c = &st->ctl;
	uint32_t req = c->ack_seq + 1;
	c->cmd = KSMP_CMD_PING;
	c->result = 12345;
	c->nonce = nonce;
	__atomic_store_n(&c->req_seq, req, __ATOMIC_RELEASE);
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	si.si_signo = st->signo;
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = uid;
	si.si_value.sival_ptr = (void *)(uintptr_t)((uint64_t)given << 32 | req);
	int r = syscall(SYS_rt_sigqueueinfo, getpid(), st->signo, &si) != 0 ? -1000 :
		__atomic_load_n(&c->ack_seq, __ATOMIC_ACQUIRE) == req ? c->result : -2000;
	if (r != 0)
		__atomic_store_n(&c->req_seq, c->ack_seq, __ATOMIC_RELEASE);
	c->nonce = 0;
	return r;
}

static uid_t overflow_uid(void)
{
	FILE *f = fopen("/proc/sys/kernel/overflowuid", "r");
	unsigned u = 65534;
	if (f) {
		if (fscanf(f, "%u", &u) != 1)
			u = 65534;
		fclose(f);
	}
	return (uid_t)u;
}

static void nonce_checks(struct ksmp_state *st)
{
	uid_t ov = overflow_uid(), other = getuid() == 4242 ? 4243 : 4242;
	if (sizeof(void *) < sizeof(uint64_t) || getuid() == ov) {
		tap_skip(7, "32-bit signal values, or running as the overflow uid");
		return;
	}
	ok(st->flags & KSMP_STF_NONCE, "agent says it checks the nonce");
	uint64_t rej = st->ctl.rejected;
	is_int(forged_ping(st, ov, 0, 0), -2000, "overflow uid without a nonce is rejected");
	is_int(forged_ping(st, ov, 0x5eed1234, 0x5eed1235), -2000, "overflow uid, wrong nonce: rejected");
	is_int(st->ctl.rejected, rej + 2, "both counted as rejected");
	is_int(forged_ping(st, ov, 0x5eed1234, 0x5eed1234), 0, "overflow uid with the block's nonce is taken");
	is_int(forged_ping(st, other, 0x5eed1234, 0x5eed1234), -2000,
	       "another uid is rejected even with the nonce");
	is_int(forged_ping(st, 0, 0x5eed1234, 0), -2000, "once set, the nonce binds root too");
}

int main(void)
{
	tap_plan(34);
	struct sigaction own, old;
	memset(&own, 0, sizeof(own));
	own.sa_handler = own_handler;
	sigemptyset(&own.sa_mask);

	/* The program owns SIGRTMAX before we start. */
	is_int(sigaction(SIGRTMAX, &own, NULL), 0, "program installs a handler on SIGRTMAX");
	struct ksmp_state *st = fake_state_create(0);
	if (!st)
		tap_bail("cannot create the state block");
	is_int(ksmp_control_init(st), 0, "agent starts");
	is_int(st->signo, SIGRTMAX - 1, "agent skips the program's SIGRTMAX");
	ok((st->flags & KSMP_STF_CONTROL) != 0, "control flag published");

	int sig = st->signo;
	memset(&old, 0xff, sizeof(old));
	is_int(sigaction(sig, NULL, &old), 0, "query of our signal succeeds");
	ok(old.sa_handler == SIG_DFL && !(old.sa_flags & SA_SIGINFO), "program sees SIG_DFL on our signal");

	is_int(self_command(st, KSMP_CMD_PING, 0, 0, 0), 0, "ping round trip");
	is_int(st->ctl.commands, 1, "command counted");
	uint64_t rej = st->ctl.rejected;
	is_int(self_command(st, KSMP_CMD_PING, 0, 0, 5), -2000, "wrong sequence value is ignored");
	is_int(st->ctl.rejected, rej + 1, "and counted as rejected");
	kill(getpid(), sig);
	is_int(st->ctl.rejected, rej + 2, "plain kill() is rejected, process survives");
	errno = 77;
	self_command(st, KSMP_CMD_PING, 0, 0, 0);
	is_int(errno, 77, "handler leaves errno alone");
	is_int(self_command(st, KSMP_CMD_RANGE_MERGE, 4097, 4096, 0), -EINVAL,
	       "target errno comes back (unaligned range)");
	nonce_checks(st);

	/* The program takes our signal: we move, it gets what it asked for. */
	memset(&old, 0xff, sizeof(old));
	errno = 0;
	is_int(sigaction(sig, &own, &old), 0, "program takes our signal");
	ok(old.sa_handler == SIG_DFL && old.sa_flags == 0, "old action is SIG_DFL");
	is_int(errno, 0, "errno untouched");
	ok(st->signo != sig && st->signo >= SIGRTMIN, "agent moved (%d -> %d)", sig, st->signo);
	own_hits = 0;
	raise(sig);
	is_int(own_hits, 1, "program's handler runs on its signal");
	is_int(self_command(st, KSMP_CMD_PING, 0, 0, 0), 0, "commands work on the new signal");

	sig = st->signo;
	ok(signal(sig, own_handler) == SIG_DFL, "signal() on our signal returns SIG_DFL");
	ok(st->signo != sig, "and moves the agent");
	sig = st->signo;
	ok(signal(sig, SIG_DFL) == SIG_DFL && st->signo == sig,
	   "resetting our signal to SIG_DFL keeps the agent");

	errno = 0;
	ok(sigaction(SIGKILL, &own, NULL) == -1 && errno == EINVAL, "invalid calls fail as before");

	pid_t pid = fork();
	if (pid == 0) {
		struct ksmp_state *cst = fake_state_create(0);
		if (!cst)
			_exit(3);
		ksmp_control_after_fork(cst);
		if (cst->signo != sig)
			_exit(4);
		if (self_command(cst, KSMP_CMD_PING, 0, 0, 0) != 0)
			_exit(5);
		_exit(0);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "after fork the child answers on its own block (%d)", status);

	pid = fork();
	if (pid == 0) {
		if (unshare(CLONE_NEWUSER) == 0)
			_exit(0);
		_exit(errno == EPERM || errno == ENOSPC || errno == EINVAL ? 2 : 1);
	}
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
		tap_skip(1, "user namespaces disabled here");
	else
		ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "unshare(CLONE_NEWUSER) still works");

	/* Unmerge and merge run the engine. */
	char *buf = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(buf, 1, 1 << 20);
	madvise(buf, 1 << 20, MADV_MERGEABLE);
	fake_region_add(st, (uintptr_t)buf, 1 << 20, 3, 0, "test");
	is_int(self_command(st, KSMP_CMD_UNMERGE, 0, 0, 0), 0, "unmerge command");
	is_int(self_command(st, KSMP_CMD_MERGE, 0, 0, 0), 0, "merge command");
	return tap_done();
}
