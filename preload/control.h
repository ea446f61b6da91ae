/*
 * control.h - the in-process control agent: carries out mergefs commands
 * (include/ksmp_state.h, "Control protocol") inside the target process.
 */
#ifndef KSMP_CONTROL_H
#define KSMP_CONTROL_H

struct ksmp_state;

/* Called once after the state block is published (in the constructor,
 * or when the block is first needed), when the policy allows control.
 * Installs the agent, sets st->signo and KSMP_STF_CONTROL. Returns 0 or
 * -errno; never fatal. */
int ksmp_control_init(struct ksmp_state *st);
/* In the constructor when the agent starts later: the initial thread's
 * blocked signals now, which the agent's choice of signal goes by. */
void ksmp_control_note_start(void);

/* Called in the child after fork, once the child's new state block is
 * published. */
void ksmp_control_after_fork(struct ksmp_state *st);

/* Read up to sz - 1 bytes of a small file (/proc), NUL-terminated, with
 * no allocation and no stdio: the length, or -1 with errno. */
#include <sys/types.h>
ssize_t ksmp_read_small(const char *path, char *buf, size_t sz);

/* Carry out a control signal that was taken synchronously (sigwaitinfo)
 * instead of delivered to the handler: same checks, same effects. */
#include <signal.h>
void ksmp_control_deliver(int sig, siginfo_t *si);
/* Times the control signal's handler ran on this thread (write.c). */
extern __thread unsigned ksmp_ctl_interrupts __attribute__((tls_model("initial-exec")));

#endif
