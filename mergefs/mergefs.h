/*
 * mergefs.h - internal interfaces of the mergefs daemon.
 *
 * Error convention: functions return 0 (or a count) or -errno; FUSE
 * handlers in mergefs.c reply once with that -errno.
 *
 *   mergefs.c the FUSE operations, driven by the file table (files.c)
 *   files.c   the file table: every file's name, mode, renderer and
 *             writer; the KSM knobs; the parsing of writes
 *   proc.c    reading /proc (status, stat, ksm_stat, maps)
 *   target.c  the table of attached targets: the library's state blocks
 *             mapped from /proc/PID/map_files, checked by identity, held
 *             with a pidfd, guarded against SIGBUS
 *   sender.c  the control protocol (include/ksmp_state.h) on the mergefs
 *             side: one command at a time per target, with a timeout
 *   render.c  the contents of every file, built at open into a buffer
 */
#ifndef MERGEFS_H
#define MERGEFS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ksmp_state.h"
#include "ksmp_state_read.h"
#include "ksmp_util.h"

#define KSM_SYS "/sys/kernel/mm/ksm/"

/* ---------------------------------------------------------------- buffers */
struct mbuf {
	char *p;
	size_t len, cap;
	int oom;		/* an allocation failed: content is unusable */
};

void mb_printf(struct mbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mb_add(struct mbuf *b, const char *s, size_t n);
void mb_free(struct mbuf *b);

/* ---------------------------------------------------------------- /proc */
struct pstatus {
	pid_t tgid;
	uid_t uid;		/* real uid */
	/* Who may see and steer it besides root: the real uid when all four
	 * uids (real, effective, saved, fs) are that uid and the kernel
	 * shows /proc/PID/status as theirs (dumpable); else root (0), as the
	 * kernel does for ptrace and for /proc/PID's own files. */
	uid_t owner;
	pid_t nspid;		/* innermost pid namespace pid */
	uint64_t sigcgt;	/* signals it catches: bit (sig - 1) */
	char name[64];
};

struct pksm {
	int valid;		/* ksm_stat was readable */
	long long rmap_items, zero_pages, merging_pages, process_profit;
	int merge_any, mergeable;
};

/* /proc/PID/maps is read line by line through a fixed buffer, never
 * whole: a line longer than MAPS_LINE_MAX is skipped, and a process whose
 * maps run past MAPS_BUDGET bytes is not read further (-E2BIG). */
#define MAPS_LINE_MAX	8192
#define MAPS_BUDGET	(4u << 20)
/* fn(ctx, line, len) for each line (NUL-terminated, no newline); a non-zero
 * return stops the walk and is returned. 0 at the end, or -errno. */
typedef int (*maps_fn)(void *ctx, char *line, size_t len);
int maps_each(pid_t pid, maps_fn fn, void *ctx);
int proc_status(pid_t pid, struct pstatus *ps);
int proc_ksm(pid_t pid, struct pksm *k);
/* Does ksm_stat show KSM activity (merge_any, mergeable or rmap_items)? */
int pksm_active(const struct pksm *k);
/* Is [addr, addr+len) entirely covered by mappings of pid? 1, 0 or -errno. */
int proc_range_mapped(pid_t pid, uint64_t addr, uint64_t len);
/* uid (ours) inside pid's user namespace; -1 unmapped, -2 unreadable. */
long long proc_uid_inside(pid_t pid, uid_t uid);
struct target;
/* Would t's agent accept our commands (user namespaces)? 0 or -EPERM. */
int steer_check(const struct target *t);

/* ---------------------------------------------------------------- targets */
struct target {
	pid_t pid;
	uid_t uid;		/* the process's real uid at attach */
	uint64_t starttime;
	uint64_t used_ms;	/* last lookup (table lock): least recently used goes first */
	unsigned long long map_s, map_e;	/* the block's range in the target */
	ino_t ino;		/* and its memfd: gone or another after an exec */
	struct ksmp_state *st;	/* MAP_SHARED view of the library's block */
	size_t maplen;
	int pidfd;		/* the process we checked; never reused */
	int guard;		/* SIGBUS registry slot (target.c) */
	int refs;		/* protected by the table lock (target.c) */
	pthread_mutex_t cmd_lock;	/* one command at a time */
	struct target *next;	/* table chain, table lock */
};

/*
 * The attached library state of pid, with a reference, or NULL: *err is
 * -ENOENT when the process is gone, 0 when it runs without the library
 * (or its block is unusable), another -errno on system errors.
 */
struct target *target_get(pid_t pid, int *err);
/* Does pid's maps name the library, whether or not target_get() could
 * attach it? 2: its state block, 1: only its object (no block yet), 0:
 * neither, or -errno (-E2BIG: its maps run past MAPS_BUDGET, so it cannot
 * be told). */
int library_mapped(pid_t pid);
void target_put(struct target *t);
/* Catch SIGBUS from a block the target shrank (target.c); 0 or -errno. */
int bus_guard_init(void);
/* Did a read of t's block fault (its memfd shrank)? Its content is then
 * partly zeros: the caller should not trust what it read. */
int target_hit(const struct target *t);
/* Most targets kept attached per process uid and in all (target.c). */
void target_limits(unsigned per_uid, unsigned all);
/* Drop entries of processes that have exited. */
void target_sweep(void);
/* Is the target still the process we attached (alive, same start)? */
int target_alive(const struct target *t);

/* ---------------------------------------------------------------- sender */
/* Carry out cmd in the target; 0 or -errno (the target's errno, or
 * -ETIMEDOUT, -ENOENT when it exited, -EOPNOTSUPP without an agent,
 * -EPERM when its agent would reject us: steer_check()). */
int target_command(struct target *t, uint32_t cmd, uint64_t addr,
		   uint64_t len, uid_t sender, int timeout_ms);

/* ---------------------------------------------------------------- limits */
/* What one uid other than root may hold at a time (limits.c, mergefs(8)
 * LIMITS): requests in progress (EBUSY past them), all such uids together
 * fewer than the worker threads, and open files (EMFILE past them). */
#define FUSE_THREADS	128	/* default -o max_threads */
#define UID_OPS		8
#define UID_HANDLES	256
#define TARGETS_MAX	4096	/* targets kept attached, all uids */
extern unsigned all_ops_max;	/* set from max_threads at start */
int uid_enter(uid_t uid);
void uid_leave(uid_t uid);
int uid_handle_add(uid_t uid);
void uid_handle_del(uid_t uid);

/* ---------------------------------------------------------------- files */
/* What a file's renderer and writer work on. */
struct fctx {
	pid_t pid;		/* per-process files; 0 otherwise */
	int knob;		/* ksm/ files: index in the knob list; else -1 */
	struct target *t;	/* attached library state (referenced) or NULL */
	struct pksm k;		/* the process's ksm_stat figures */
	uid_t owner;		/* who may see it besides root (struct pstatus) */
	uint64_t start;		/* the process's start time when opened */
	/* the writer's side */
	uid_t caller_uid;
	pid_t caller_tgid;
	int timeout_ms;
};

/*
 * One file of the mount. The mode's permission bits say who may read it
 * (user bits: root and the owner; other bits: everyone); a file with a
 * writer is writable by root and the owner (S_IWUSR is added), and a
 * per-process one only while its process can be steered. Everything else
 * (getattr, access checks, listings, dispatch) derives from this table.
 */
struct mfile {
	const char *name;
	mode_t mode;		/* read bits only */
	/* Content at open (0 or -errno); the buffer reports allocation
	 * failure itself (mbuf.oom). */
	int (*render)(struct mbuf *b, const struct fctx *c);
	/* One whole command, cleaned (printable, no newline): 0 or -errno. */
	int (*write)(const struct fctx *c, const char *s, size_t n);
	/* The writer also serves processes without the library (attach.c). */
	int bare;
};

/* The files of a directory: NULL-name-terminated. */
extern const struct mfile host_files[];	/* /MNT */
extern const struct mfile pid_files[];	/* /MNT/PID */
extern const struct mfile knob_file;	/* /MNT/ksm/KNOB (name: knob_name) */

/* Mode bits (with S_IFREG) of f for a process that can (steer = 1) or
 * cannot be steered. */
mode_t mfile_mode(const struct mfile *f, int steer);
/* May uid read (want 4) or write (want 2) a file of this mode and owner? */
int mfile_may(mode_t mode, uid_t owner, uid_t uid, int want);
const struct mfile *mfile_find(const struct mfile *dir, const char *name);

/* The KSM knobs under /MNT/ksm, in display order: their count, name, and
 * whether this kernel has it. */
int knob_count(void);
const char *knob_name(int i);
int knob_index(const char *name);
int knob_present(int i);
void knob_path(int i, char *buf, size_t sz);

/* ---------------------------------------------------------------- render */
struct ksm_sys {
	char name[64];
	char value[64];
};

/* Every file of /sys/kernel/mm/ksm, sorted by name; returns the count. */
int read_ksm_sys(struct ksm_sys *out, int max);
/* The value of one of them as a number (0 when absent). */
long long sys_val(const struct ksm_sys *s, int n, const char *name);
long page_size(void);
/* Bytes the library advised now (the block's kind counters, saturated). */
uint64_t advised_bytes(const struct ksmp_state *st);
/* A process's share of the host's KSM saving, in bytes (metrics.c): its
 * pages on KSM pages times the host's saved fraction of every mapping of
 * a KSM page, pages_sharing / (pages_shared + pages_sharing), plus its
 * zero pages. Over all processes these add up to the host's saved_bytes. */
long long ksm_share_bytes(const struct pksm *k);

/* ---------------------------------------------------------------- unmerge */
/* -o unmerge_margin, -o unmerge_batch (bytes). */
extern long long unmerge_margin, unmerge_batch;
/* Carry out cmd (KSMP_CMD_UNMERGE or KSMP_CMD_RANGE_UNMERGE) with the
 * headroom checks and batches of unmerge.c; c->t must be set. 0, -ENOMEM
 * (refused or stopped), -EBUSY (one runs already) or the target's error. */
int unmerge_checked(const struct fctx *c, uint32_t cmd, uint64_t addr, uint64_t len,
		    int force);
/* The unmerge_* lines of /PID/stats. */
void unmerge_render(struct mbuf *b, const struct fctx *c);

/* -o process_metrics=0: /metrics without per-process series. */
extern int metrics_per_process;
int render_host_stats(struct mbuf *b, const struct fctx *c);
int render_metrics(struct mbuf *b, const struct fctx *c);
int render_cgroups(struct mbuf *b, const struct fctx *c);
/* The process's cgroup (systemd's tree) and the service or scope in it
 * ("" when none): metrics.c. */
void proc_cgroup(pid_t pid, char *cg, size_t cgsz, char *unit, size_t usz);
int render_stats(struct mbuf *b, const struct fctx *c);
int render_merge(struct mbuf *b, const struct fctx *c);
int render_regions(struct mbuf *b, const struct fctx *c);
int render_regions_ksm(struct mbuf *b, const struct fctx *c);
int render_policy(struct mbuf *b, const struct fctx *c);
int render_knob(struct mbuf *b, const struct fctx *c);
/* Why a process cannot be steered, or NULL when it can. */
const char *steer_reason(const struct target *t);

/* Scan /proc: calls fn for every process with KSM activity or the
 * library. With SCAN_TARGET, t is the attached library state (or NULL);
 * with SCAN_PEEK, t is non-NULL when the process seems to run the library
 * (a block of that name in its maps) and must not be dereferenced:
 * nothing is attached, which keeps counts and listings cheap whatever
 * the limits on attached targets. A non-zero return from fn stops the
 * scan. Returns 0 or -errno. */
#define SCAN_PEEK	0
#define SCAN_TARGET	1
typedef int (*pid_fn)(void *ctx, pid_t pid, const struct pksm *k, struct target *t);
int scan_ksm_pids(pid_fn fn, void *ctx, int want_target);

/* ---------------------------------------------------------------- auto */
/* Mode auto's controller (auto.c): a thread that measures and prunes
 * every interval_ms (0: none). 0 or -errno. */
int auto_start(unsigned interval_ms);
/* One measuring pass over every process in mode auto. */
void auto_cycle(void);
struct auto_totals {
	uint64_t cycles;		/* passes over all processes */
	uint64_t chunks_measured;	/* chunks whose pagemap was read */
	uint64_t prunes, probes;	/* chunks pruned, probed again */
};
void auto_get_totals(struct auto_totals *out);
struct auto_proc {
	uint64_t prunes, probes;	/* its chunks pruned, probed again (done) */
	uint32_t max_changes;		/* most prunes + probes of one chunk */
	uint64_t measured;		/* its chunks whose pagemap was read */
	uint64_t followed_ms;		/* since the controller first saw it */
};
/* The controller's counters for the process pid started at start: 0, or
 * -ENOENT when this mount's controller does not follow it. */
int auto_get_proc(pid_t pid, uint64_t start, struct auto_proc *out);

/* ---------------------------------------------------------------- attach */
/* /PID/merge of a process without the library (attach.c): runs
 * `ksmpreload attach` (on) or `detach` as the writer (the FUSE caller's
 * credentials), bounded in time. 0 or -errno (mergefs(8), Writes). */
int attach_write(const struct fctx *c, int on, int force);
/* The last such write's outcome for the process started at start: on,
 * its errno (0: done) and message. 0, or -ENOENT when none is kept. */
int attach_last(pid_t pid, uint64_t start, int *on, int *err, char *msg, size_t len);
/* The ksmpreload command it runs (-o ksmpreload=PATH; $bindir's). */
extern const char *attach_program;

/* A bounded string, escaped for one line ("-" when empty); column: also
 * escape spaces, for a space-separated column (render.c). */
void mb_str(struct mbuf *b, const char *s, size_t max, int column);

/* Options (main.c). */
struct mergefs_options {
	unsigned timeout_ms;
	unsigned auto_ms;
	unsigned max_threads;	/* libfuse's, read here too (LIMITS) */
	unsigned uid_targets;
	unsigned process_metrics;
	unsigned unmerge_margin_mib, unmerge_batch_mib;
	char *ksmpreload;	/* -o ksmpreload=PATH (attach.c) */
	int show_help;
	int show_version;
};
extern struct mergefs_options mergefs_opts;
/* Test hook: see mergefs.c (KSMP_MERGEFS_RACE_MS). */
extern unsigned race_ms;
/* Test hook (tests/attachfs/attachfs_caller.sh): milliseconds a write to
 * /PID/merge of a process without the library waits before it reads its
 * caller's credentials (KSMP_MERGEFS_CREDS_RACE_MS; attach.c). */
extern unsigned creds_race_ms;
/* The FUSE operations (mergefs.c). */
struct fuse_operations;
extern const struct fuse_operations mergefs_ops;

#endif
