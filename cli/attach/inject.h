/*
 * inject.h - make a running process execute system calls of our choosing,
 * by ptrace (x86_64 only), and leave it exactly as it was.
 *
 * One thread is stopped with PTRACE_SEIZE + PTRACE_INTERRUPT (never
 * SIGSTOP: job control and the program see nothing), its registers are
 * saved, each call is run from a `syscall` instruction found in the
 * target's own text (its vdso), and the registers are put back before the
 * thread is let go. The target's memory is never written.
 *
 * Error convention: 0 or -errno. -EINTR from ksmp_inject_syscall() means a
 * signal reached the target before the call could complete: the target
 * has been let go with that signal delivered as if nothing had happened,
 * and the caller may start again. -ESRCH: the target went away.
 */
#ifndef KSMP_INJECT_H
#define KSMP_INJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#define KSMP_INJECT_MAX_FILTERS 16

struct ksmp_bpf_insn {		/* struct sock_filter */
	uint16_t code;
	uint8_t jt, jf;
	uint32_t k;
};

struct ksmp_filter {
	struct ksmp_bpf_insn *insn;
	unsigned len;
};

enum ksmp_inject_state {
	KSMP_INJ_DETACHED = 0,
	KSMP_INJ_EVENT,		/* in an interrupt stop: registers are ours to set */
	KSMP_INJ_SYSEXIT,	/* in the exit stop of a call we injected */
	KSMP_INJ_TRAP,		/* in the SIGTRAP stop after a single-stepped call */
};

struct ksmp_inject {
	pid_t tid;
	enum ksmp_inject_state state;
	uint64_t sysaddr;		/* a `syscall` instruction in the target */
	struct user_regs_struct saved;	/* the thread's registers at the stop */
	bool step;			/* single-step the calls (see inject.c) */
	bool eintr_restart;		/* its -EINTR was ours: re-execute the call */
	uint64_t t0_ns, stop_ns;	/* stop time, interrupt to detach */
	unsigned calls;			/* injected calls completed */
	/* the thread's seccomp filters, innermost first */
	struct ksmp_filter filters[KSMP_INJECT_MAX_FILTERS];
	unsigned nfilters;
	int seccomp_mode;		/* /proc status "Seccomp:" 0, 1 or 2 */
	char err[256];			/* why the last call failed */
};

/* Find a `syscall` instruction in pid's vdso (read through /proc/PID/mem,
 * so it needs ptrace access); 0 and *addr, or -errno. */
int ksmp_inject_find_syscall(pid_t pid, uint64_t *addr);

/* Seize and stop thread tid. sysaddr from ksmp_inject_find_syscall().
 * On failure nothing is left attached. Reads the seccomp filters. */
int ksmp_inject_begin(struct ksmp_inject *in, pid_t tid, uint64_t sysaddr);

/* Would the thread's seccomp filters let this call through (every filter
 * returns SECCOMP_RET_ALLOW)? 1 yes, 0 no (in->err says what they would
 * do), -errno when they cannot be judged. */
int ksmp_inject_allowed(struct ksmp_inject *in, long nr, const uint64_t args[6]);

/* Run one system call in the stopped thread; its return value (a
 * negative errno from the kernel, as the raw syscall gives it) in *ret. */
int ksmp_inject_syscall(struct ksmp_inject *in, long nr, const uint64_t args[6],
			long *ret);

/* The thread was stopped just as a write(2), pwrite64(2) or sendto(2)
 * without an address returned having written only part of its buffer
 * (the stop itself cuts a blocked write to a pipe or socket short):
 * write the rest from the same buffer, as the call would have, and make
 * the thread's call return the whole count. Waits as long as the reader
 * takes, as the program's own call would have. 1 when it did, 0 when
 * there was nothing to finish, -errno (-EINTR: a signal came; the thread
 * then returns the count written so far, as a signal would have made it
 * return). */
int ksmp_inject_finish_write(struct ksmp_inject *in);

/* Put the registers back and let the thread go. Always leaves the target
 * detached (or gone); returns 0 or -errno. Sets in->stop_ns. */
int ksmp_inject_end(struct ksmp_inject *in);

/* Tests only: KSMP_TEST_ATTACH_PAUSE=STAGE[:MS] stops here for MS
 * milliseconds (forever without :MS), after saying so on stderr, so that a
 * test can signal the target or kill us at a known point. Stages: stop,
 * call (here), resolved (cmd_attach.c: the processes named are known). */
void ksmp_inject_test_pause(const char *stage);

/* The classic BPF interpreter used for seccomp filters, exposed for tests:
 * runs prog over the 64-byte struct seccomp_data in data; 0 and *result,
 * or -EINVAL for an instruction seccomp would not accept. */
int ksmp_bpf_run(const struct ksmp_bpf_insn *prog, unsigned len,
		 const unsigned char *data, size_t dlen, uint32_t *result);

#endif
