/*
 * attach.h - `ksmpreload attach` / `detach`: shared between the command
 * (cmd_attach.c), the /proc readers (proc.c), the region selection
 * (ranges.c) and the attach records (record.c). Internal functions return
 * 0 or -errno unless stated otherwise.
 */
#ifndef KSMP_ATTACH_H
#define KSMP_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy.h"

/* What /proc says about a process, read before touching it. */
struct attach_proc {
	pid_t pid;		/* thread group id */
	pid_t tid;		/* the thread to stop */
	char comm[32];
	char state;		/* of the process: R, S, D, T, t, Z, X, ... */
	pid_t tracer;		/* first thread found traced, by whom */
	bool kthread;
	bool i386;		/* its executable is 32-bit x86 (ELFCLASS32, EM_386) */
	unsigned long long start;	/* start time in clock ticks */
	uid_t ruid, euid, suid;
	char exe[4096];		/* "" when unreadable */
	char argv0[256];
	/* held from attach_hold() to attach_release() (-1 before) */
	int pidfd, memfd;
	bool have_exe;
	dev_t exe_dev;		/* of /proc/PID/exe, at attach_hold() */
	ino_t exe_ino;
};

/* proc.c: choose p->tid among the live threads of p->pid: the one chosen
 * by attach_proc_read() unless it is in a write to a pipe or socket (a
 * stop would cut that short), else another; -EBUSY while every thread is
 * in one, -ESRCH when the process is gone. Every thread is considered. */
int attach_pick_thread(struct attach_proc *p);

/* cmd_attach.c: the command's options; one process attached or detached
 * and reported (0 or -errno; 0 also when it was found by name or by the
 * watch, and exited before or while it was reached: reported as skipped);
 * does -p's policy, or a file of the policy directory, name this
 * process's program? */
struct attach_opts {
	const char *policy;
	int mode;		/* enum ksmp_mode, or -1: the policy's */
	bool json, detach;
	bool force;		/* detach: unmerge even without the headroom */
	long long margin;	/* detach: bytes an unmerge must leave free */
	bool have_start;	/* --start: act only on a process started then */
	unsigned long long start;
	unsigned nout;
};
int attach_do_one(struct attach_opts *o, pid_t pid, bool found);
bool attach_program_matches(const struct attach_opts *o, pid_t pid);

/* ident.c: the identity of the process being attached. attach_hold()
 * (after attach_proc_read) opens a pidfd and a /proc/PID/mem descriptor
 * and checks the start time and executable are still those read: -ESRCH
 * when not. attach_ended(): the pidfd says it has ended. attach_same(),
 * with thread tid stopped: is it the process read, same address space,
 * same executable, same vdso `syscall` address (*sysaddr)? 0, or -ESRCH
 * and why. */
int attach_hold(struct attach_proc *p);
void attach_release(struct attach_proc *p);
bool attach_ended(const struct attach_proc *p);
/* Is its executable another than the one read (an exec done or under
 * way)? */
bool attach_exe_changed(const struct attach_proc *p);
int attach_same(const struct attach_proc *p, pid_t tid, uint64_t *sysaddr,
		char *why, size_t len);

/* watch.c: `attach --watch`; returns the exit status. */
int attach_watch(struct attach_opts *o, unsigned interval_ms);

/* proc.c */
int attach_proc_read(pid_t pid, struct attach_proc *p);
/* Why the kernel refused us access to p (EPERM / EACCES), as a phrase. */
void attach_why_denied(const struct attach_proc *p, char *buf, size_t len);
/* PID, or every process whose comm or executable basename is arg.
 * Returns how many were added to *pids (grown with realloc), or -errno. */
int attach_resolve(const char *arg, pid_t **pids, size_t *n);
long attach_ksm_stat(pid_t pid, const char *key);	/* -1 when unreadable */

/* ranges.c: the mappings of pid the policy selects for regions mode,
 * joined where adjacent. */
struct attach_range {
	uint64_t start, end;
};
int attach_select(pid_t pid, const struct ksmp_policy *pol,
		  struct attach_range **out, size_t *n, uint64_t *bytes);

/* record.c: what attach did, for detach and for the next attach.
 * Stored as a small text file per pid, keyed by the start time. */
struct attach_record {
	unsigned long long start;
	bool process;			/* prctl(PR_SET_MEMORY_MERGE, 1) done */
	struct attach_range *ranges;	/* madvise(MADV_MERGEABLE) done */
	size_t nranges;
};
int attach_record_dir(char *out, size_t len);
/* Serialise changes to the records: a descriptor holding the directory's
 * lock (created if need be), or -errno; give it to attach_record_unlock(). */
int attach_record_lock(void);
void attach_record_unlock(int fd);
int attach_record_load(pid_t pid, struct attach_record *r);
int attach_record_save(pid_t pid, const struct attach_record *r);
int attach_record_remove(pid_t pid);
void attach_record_free(struct attach_record *r);

#endif
