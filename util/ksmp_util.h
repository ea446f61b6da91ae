/*
 * ksmp_util.h - small helpers shared by the ksmpreload command and mergefs
 * (util/libksmputil.a). Never linked into libksmpreload.so: these
 * allocate and use stdio, which the preloaded library must not.
 */
#ifndef KSMP_UTIL_H
#define KSMP_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* CLOCK_MONOTONIC in seconds. */
double ksmp_now(void);

/*
 * Room for need elements of elem bytes in a malloc'd array. arrp is the
 * address of the array's pointer (a T **; a NULL array with *cap 0 to
 * start) and *cap its capacity in elements. When *cap < need, the
 * capacity doubles, from first (or 1) when it is 0, until it holds need,
 * and the array is realloc'd: its contents are kept. 0; or -1 with errno
 * ENOMEM, also when the size would overflow (or elem is 0): the array and
 * *cap are then unchanged, and the array still the caller's to free.
 */
int ksmp_grow(void *arrp, size_t *cap, size_t need, size_t elem, size_t first);

/* The whole of fd (read to EOF, EINTR retried) in a malloc'd buffer with a
 * NUL after the data; *len (if not NULL) gets the length. NULL with errno
 * set on failure. For /proc files, which must be read in one pass. */
char *ksmp_read_fd(int fd, size_t *len);
/* The same for a path (opened O_RDONLY | O_CLOEXEC). */
char *ksmp_read_file(const char *path, size_t *len);

/* A small /proc or sysfs file (produced in one piece: one read, EINTR
 * retried) into buf, at most size - 1 bytes and a NUL after them. The
 * length, or -errno (-ENOENT also when the process behind a /proc file
 * is gone: ESRCH). */
ssize_t ksmp_read_small(const char *path, char *buf, size_t size);

/* Start time of process pid (field 22 of /proc/PID/stat, clock ticks
 * since boot): with the pid, a process's identity. 0, or -ENOENT. */
int ksmp_proc_starttime(pid_t pid, uint64_t *starttime);
/* The same, and the command name (comm, changed by exec) into comm. */
int ksmp_proc_stat_id(pid_t pid, uint64_t *starttime, char *comm, size_t commsz);
/* Its state letter (field 3 of /proc/PID/stat: R, S, T, t, ...), 0 if
 * unreadable. */
char ksmp_proc_state(pid_t pid);

/* The value of "KEY VALUE" lines (e.g. /proc/PID/ksm_stat) in text, or
 * -1 when absent. */
long long ksmp_key_value(const char *text, const char *key);

/*
 * s as a JSON string, quotes included. Valid UTF-8 passes through; '"',
 * '\\' and control characters are escaped, and so is each byte that is
 * not part of valid UTF-8 (as \u00XX: the byte's value, so that nothing
 * is lost and the output stays valid JSON).
 */
void ksmp_json_str(FILE *f, const char *s);

/*
 * s made safe for a terminal or one line of a text file (a table, a
 * policy comment), into dst (size bytes, always terminated; only whole
 * characters and escapes, so a cut never splits one). Valid UTF-8 passes
 * through; control characters (C0, DEL, C1), the backslash and each byte
 * that is not part of valid UTF-8 become \xHH. Returns dst. 4 * strlen(s)
 * + 1 bytes always suffice.
 */
const char *ksmp_text_esc(char *dst, size_t size, const char *s);

/* Length of the valid UTF-8 character at s, which has n bytes (1-4; 1
 * for any ASCII byte), or 0 if s does not start one within n bytes
 * (overlong forms, surrogates and code points above U+10FFFF are not
 * valid). For a NUL-terminated string, strnlen(s, 4) bytes. */
size_t ksmp_utf8_len(const unsigned char *s, size_t n);
/* The same, but 0 also for a C1 control (U+0080..U+009F), which some
 * terminals obey like ESC: what may reach a reader's screen unescaped
 * (ASCII controls are the caller's to judge). */
size_t ksmp_utf8_text_len(const unsigned char *s, size_t n);

/* ksmd's sysfs files (ksm_knobs.c): settable knobs first, in display
 * order, then the counters. */
enum ksmp_knob_type {
	KSMP_KNOB_RUN, KSMP_KNOB_BOOL, KSMP_KNOB_UINT, KSMP_KNOB_ENUM,
	KSMP_KNOB_COUNTER
};
struct ksmp_knob {
	const char *name;
	enum ksmp_knob_type type;
	unsigned long long min, max;
	const char *unit;
	const char *meaning;
};
extern const struct ksmp_knob ksmp_knobs[];
extern const size_t ksmp_nknobs;
/* The entry named by the n bytes at name, or NULL. */
const struct ksmp_knob *ksmp_knob_find(const char *name, size_t n);

/* ---- util/headroom.c: the memory an unmerge may take */
struct ksmp_headroom {
	long long bytes;	/* the least room left, bytes (may be < 0) */
	char where[256];	/* "host MemAvailable" or the cgroup directory */
};
/* The host's MemAvailable (/proc/meminfo), bytes, or -1. */
long long ksmp_mem_available(void);
/* The memory an unmerge of pid may take before something runs out: the
 * host's MemAvailable and limit - usage of pid's memory cgroup and its
 * ancestors (v2 and v1). 0, or -ENOENT when nothing limits it (bytes =
 * LLONG_MAX). */
int ksmp_headroom_of(pid_t pid, struct ksmp_headroom *h);
/* Whether unmerging need bytes of pid leaves at least margin bytes of
 * that room: 0, or -ENOMEM with the reason (sizes, where) in msg. */
int ksmp_unmerge_fits(pid_t pid, long long need, long long margin, char *msg, size_t len);

#endif
