/*
 * policy.h - the ksmpreload policy language: parser, selection and matcher.
 *
 * Used by libksmpreload.so (inside arbitrary programs, from its constructor
 * and from the mmap/malloc hot paths), by mergefs and by the ksmpreload
 * command. It therefore never allocates: a compiled policy is one flat,
 * fixed-size struct with no pointers, that can be copied with memcpy, put
 * in shared memory, and matched against without locks, locale or regex.
 * File reading uses open/read/close on a caller-provided or stack buffer.
 *
 * Error convention: functions return 0 or a positive count of problems, or
 * -errno for system errors. Every problem in a policy file is reported
 * through a diagnostic callback as "file:line: message"; the parser goes on
 * after each bad line so that all of them are reported.
 *
 * This library knows nothing of preload/ or mergefs/.
 */
#ifndef KSMP_POLICY_H
#define KSMP_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KSMP_POLICY_MAX_FILE	(64 * 1024)	/* bytes in one policy file */
#define KSMP_POLICY_MAX_LINE	1024		/* bytes in one line, newline excluded */
#define KSMP_POLICY_MAX_RULES	64
#define KSMP_POLICY_MAX_PROGRAMS 16		/* program globs */
#define KSMP_POLICY_MAX_CALLERS	8		/* caller= globs per rule */
#define KSMP_POLICY_STRPOOL	4096		/* bytes for all glob strings */
#define KSMP_POLICY_NAME_MAX	64
#define KSMP_POLICY_SOURCE_MAX	256
/* The largest auto-chunk mergefs's controller uses: one of its commands
 * measures or prunes at most this much (a prune stalls the target; see
 * mergefs/auto.h), so a policy's larger auto-chunk is used as this.
 * `ksmpreload check` shows the value used. */
#define KSMP_AUTO_CHUNK_USED_MAX (64ull << 20)

/* Engines. */
enum ksmp_mode {
	KSMP_MODE_OFF = 0,	/* load, publish stats, advise nothing */
	KSMP_MODE_PROCESS,	/* prctl(PR_SET_MEMORY_MERGE, 1) */
	KSMP_MODE_REGIONS,	/* madvise(MADV_MERGEABLE) on selected regions */
	KSMP_MODE_AUTO,		/* regions, pruned by measurement (mergefs) */
	KSMP_MODE_COUNT
};

/* Region kinds a rule can select. Stable numbers: also used in the shared
 * state ABI (include/ksmp_state.h). */
enum ksmp_kind {
	KSMP_KIND_HEAP = 0,	/* main brk heap */
	KSMP_KIND_ARENA,	/* glibc malloc arena heaps (thread arenas) */
	KSMP_KIND_CHUNK,	/* large malloc chunks (mmapped by malloc) */
	KSMP_KIND_MMAP,		/* the program's own anonymous private mmaps */
	KSMP_KIND_FILE,		/* private file-backed mappings (writable or not) */
	KSMP_KIND_STACK,	/* thread stacks */
	KSMP_KIND_DATA,		/* loaded objects' writable static data (.data, .bss) */
	KSMP_KIND_COUNT
};

enum ksmp_action {
	KSMP_ACT_SKIP = 0,
	KSMP_ACT_MERGE = 1,
};

enum ksmp_loglevel {
	KSMP_LOG_NONE = 0,
	KSMP_LOG_ERROR,
	KSMP_LOG_INFO,
	KSMP_LOG_DEBUG,
	KSMP_LOG_COUNT
};

/* Protection bits used in prot= conditions: same values as PROT_*. */
#define KSMP_PROT_R	0x1
#define KSMP_PROT_W	0x2
#define KSMP_PROT_X	0x4

/* One glob stored in the policy's string pool: offset and length. */
struct ksmp_str {
	uint16_t off;
	uint16_t len;
};

struct ksmp_rule {
	uint8_t action;		/* enum ksmp_action */
	uint8_t ncallers;
	uint8_t prot_set;	/* prot= given: region prot must equal prot_val */
	uint8_t prot_val;	/* KSMP_PROT_* bits */
	uint32_t kinds;		/* bit (1u << enum ksmp_kind); all kinds for "any" */
	uint64_t min_size;	/* inclusive, 0 = none */
	uint64_t max_size;	/* inclusive, UINT64_MAX = none */
	struct ksmp_str callers[KSMP_POLICY_MAX_CALLERS]; /* OR of globs */
	uint16_t line;		/* source line, for reports */
};

struct ksmp_policy {
	char name[KSMP_POLICY_NAME_MAX];	/* "name" keyword, else file stem */
	char source[KSMP_POLICY_SOURCE_MAX];	/* path, or "built-in default" */
	uint8_t mode;				/* enum ksmp_mode */
	uint8_t loglevel;			/* enum ksmp_loglevel */
	uint8_t strict;				/* parse errors abort the program */
	uint8_t control;			/* accept control commands */
	uint8_t nprograms;
	uint8_t nrules;
	uint8_t has_caller_rules;		/* any rule has caller= */
	uint8_t inherited_off;			/* "inherited-merge off": drop an
					 * inherited PR_SET_MEMORY_MERGE */
	uint8_t secure_exec;			/* "secure-exec yes": applies to
						 * programs in secure execution */
	uint8_t builtin_rules;			/* rules are the built-in default's
						 * (set by ksmp_policy_default only) */
	uint32_t kinds_merged;			/* kinds some merge rule can select */
	uint64_t heap_step;			/* main heap advice step (M_TOP_PAD) */
	/* mode auto's bounds, used by the controller in mergefs */
	uint64_t auto_chunk;			/* measuring/pruning unit (power of 2) */
	uint32_t auto_vmas;			/* VMAs pruning may add, at most */
	uint32_t auto_reprobe;			/* seconds before a pruned chunk is tried again */
	struct ksmp_str programs[KSMP_POLICY_MAX_PROGRAMS];
	struct ksmp_rule rules[KSMP_POLICY_MAX_RULES];
	uint16_t pool_used;
	char pool[KSMP_POLICY_STRPOOL];
};

/* What a region looks like to the matcher. */
struct ksmp_query {
	enum ksmp_kind kind;
	uint64_t size;
	int prot;		/* PROT_* bits of the region */
	const char *caller;	/* path or name of the calling shared object, or NULL */
};

/*
 * Diagnostic callback: one call per problem. file may be NULL for problems
 * that concern no file. line is 0 for problems of the whole file (missing,
 * unreadable, too big): print those as "file: message". Messages carry no
 * trailing newline.
 */
typedef void (*ksmp_diag_fn)(void *ctx, const char *file, unsigned line,
			     const char *msg);

/* The built-in default: mode auto (see ksmpreload.policy(5)). */
void ksmp_policy_default(struct ksmp_policy *p);
/* When set, what ksmp_policy_default copies instead of parsing: the
 * library sets the image its build made of that parse (preload/gen_builtin.c),
 * so that a program under the built-in default parses nothing at start. */
extern const struct ksmp_policy *ksmp_policy_default_image;
/* The default of a program in secure execution: mode regions, large
 * chunks and mappings only, never the heap or arenas. */
void ksmp_policy_default_secure(struct ksmp_policy *p);

/*
 * Parse len bytes of policy text; name is used in diagnostics. On return p
 * holds every valid line (bad lines are left out). Returns the number of
 * problems reported (0 = valid).
 */
int ksmp_policy_parse(struct ksmp_policy *p, const char *name,
		      const char *text, size_t len,
		      ksmp_diag_fn diag, void *ctx);

/* Only the program line(s) of policy text, quietly: enough for
 * ksmp_policy_matches_program, and cheaper than a whole parse. */
int ksmp_policy_parse_programs(struct ksmp_policy *p, const char *name,
			       const char *text, size_t len);
/* False only when the text has no program line, by a quick look that
 * parses nothing (selection passes over such files). */
bool ksmp_policy_may_have_program(const char *text, size_t len);

/*
 * Read and parse a file. Returns the number of problems (>= 0), or -errno
 * when the file cannot be opened or read (reported through diag as well).
 * Does not allocate: the file is read into buf (at least
 * KSMP_POLICY_MAX_FILE + 1 bytes), which the caller provides.
 */
int ksmp_policy_load(struct ksmp_policy *p, const char *path,
		     char *buf, size_t bufsz, ksmp_diag_fn diag, void *ctx);

/* Does one of the policy's program globs match this program? exe is the
 * executable's absolute path, argv0 may be NULL. A glob with a '/' is
 * matched against exe, otherwise against the basenames of exe and argv0.
 * A policy with no program line matches nothing (except when selected by
 * KSMP_POLICY). */
bool ksmp_policy_matches_program(const struct ksmp_policy *p,
				 const char *exe, const char *argv0);

/*
 * Policy selection, in order of precedence:
 *   1. env_policy (KSMP_POLICY): that file, whatever its program line says;
 *   2. the first file, in byte order of names ending in ".policy", in
 *      env_dir (KSMP_POLICY_DIR) or else the compiled-in policy directory,
 *      whose program line matches exe/argv0;
 *   3. the built-in default.
 * buf: as for ksmp_policy_load. Returns the number of problems in the file
 * chosen, or -errno if it could not be read; in both error cases p is
 * reset to the default with mode off ("run unmerged"), keeping the file's
 * name, source, log and strict settings so that strict mode can be
 * honoured. Problems in files whose program line does not match are not
 * reported.
 */
int ksmp_policy_select(struct ksmp_policy *p, const char *env_policy,
		       const char *env_dir, const char *exe, const char *argv0,
		       char *buf, size_t bufsz, ksmp_diag_fn diag, void *ctx);

/*
 * The same over two directories: admin (may be NULL) overrides vendor (may
 * be NULL) file by file; an empty admin file or a symlink to /dev/null
 * masks the vendor file of its name. must_exist: a missing admin
 * directory is an error (a directory the user named), not the default.
 * ksmp_policy_select uses KSMP_POLICY_DIR alone, else the compiled-in
 * admin and vendor directories.
 */
int ksmp_policy_select_dirs(struct ksmp_policy *p, const char *env_policy,
			    const char *admin, const char *vendor, bool must_exist,
			    const char *exe, const char *argv0, char *buf,
			    size_t bufsz, ksmp_diag_fn diag, void *ctx);

/*
 * ksmp_policy_select for a process whose flags say more about it:
 * KSMP_SELECT_PRIVILEGED  the process is privileged (secure execution or
 *     effective uid 0): a policy directory, or a policy file it would
 *     read, that is writable by group or others, or owned by a uid other
 *     than root and the effective uid, is refused (symbolic links
 *     followed): one report through diag, -EPERM, p reset as for an
 *     unreadable file. A refused file ends the search.
 * KSMP_SELECT_SECURE  when no file matches, the process gets
 *     ksmp_policy_default_secure, not the built-in default.
 * KSMP_SELECT_SECURE_EXEC  the process runs in secure execution (AT_SECURE
 *     or credentials that differ from its invoker's): a file whose program
 *     line matches applies only if it says "secure-exec yes"; otherwise
 *     the search ends there and the process gets
 *     ksmp_policy_default_secure (the file was not written for a
 *     privileged program: e.g. a node policy for a node given a file
 *     capability).
 * KSMP_SELECT_SELF_EXE  exe is NULL: the calling process's own executable
 *     (/proc/self/exe) is read only when a file's program line is to be
 *     matched (most files have none, and the readlink, the first /proc
 *     access of a new process, is dear at every exec).
 * KSMP_SELECT_BUILTIN_IMAGE  when the choice is the built-in default and
 *     ksmp_policy_default_image is set, return KSMP_POLICY_BUILTIN and
 *     leave p unwritten: the caller uses the image itself (the library:
 *     no copy of it in every process).
 */
#define KSMP_SELECT_PRIVILEGED 1u
#define KSMP_SELECT_SECURE 2u
#define KSMP_SELECT_SECURE_EXEC 4u
#define KSMP_SELECT_SELF_EXE 8u
#define KSMP_SELECT_BUILTIN_IMAGE 16u
#define KSMP_POLICY_BUILTIN 0x7fffffff
int ksmp_policy_select_flags(struct ksmp_policy *p, const char *env_policy,
			     const char *env_dir, const char *exe,
			     const char *argv0, unsigned flags, char *buf,
			     size_t bufsz, ksmp_diag_fn diag, void *ctx);

/* The file that NAME (e.g. "workers.policy") stands for in the two
 * directories, into path: 0, KSMP_POLICY_MASKED, or -errno. */
#define KSMP_POLICY_MASKED 1
int ksmp_policy_lookup(const char *admin, const char *vendor, const char *name,
		       char *path, size_t size);

/*
 * The index of a policy directory (an extended attribute of it, which
 * selection uses while it is current: names added, removed or changed
 * since are noticed, and the directory is then read as without one).
 * Writes the index of dir (text: at least 4 KiB; fbuf: for reading each
 * file, at least KSMP_POLICY_MAX_FILE + 1 bytes); waits while a file or
 * the directory changed in the last 2 s. 0, or -errno after one report
 * through diag (and the old index removed).
 */
int ksmp_policy_index_write(const char *dir, char *text, size_t tsize,
			    char *fbuf, size_t fsize, ksmp_diag_fn diag, void *ctx);
/* Remove dir's index (none: 0). 0 or -errno. */
int ksmp_policy_index_remove(const char *dir);

/*
 * The matcher. First matching rule wins; no match means skip. Returns the
 * rule index (>= 0) of the matching rule and stores its action in *action,
 * or -1 when no rule matched (*action = KSMP_ACT_SKIP). Async-signal-safe,
 * no allocation, no locale.
 */
int ksmp_policy_match(const struct ksmp_policy *p, const struct ksmp_query *q,
		      enum ksmp_action *action);

/*
 * Does a "skip" rule for the heap (kind heap, or any), with no size or
 * prot condition, name this caller in a caller= glob? The library serves
 * such callers' malloc calls from its crypto heap, which is never merged.
 */
bool ksmp_policy_skips_caller(const struct ksmp_policy *p, const char *caller);

/* Glob match: '*', '?', '[...]' with ranges and '!'/'^' negation, '\\'
 * escapes. Byte-wise, no locale. '*' matches '/' too. */
bool ksmp_glob_match(const char *pat, size_t patlen, const char *s);

/* Names, for reports and stats files. */
const char *ksmp_mode_name(enum ksmp_mode m);
const char *ksmp_kind_name(enum ksmp_kind k);
/* enum ksmp_engine of ksmp_state.h. All name functions return "unknown"
 * for a value out of range. */
const char *ksmp_engine_name(unsigned e);
const char *ksmp_loglevel_name(enum ksmp_loglevel l);

/* Write a canonical text form of the compiled policy into buf (snprintf
 * semantics: returns the length it needed). Re-parsing that text yields
 * the same compiled policy. */
size_t ksmp_policy_format(const struct ksmp_policy *p, char *buf, size_t bufsz);

/* Rule i's canonical text ("merge heap min=1M\n"), snprintf semantics. */
size_t ksmp_rule_format(const struct ksmp_policy *p, unsigned i, char *buf,
			size_t bufsz);

/* Whether rule a matches every region rule b matches, whatever b's
 * action (so that b, after a, can never match). Conservative: false when
 * a has a condition it cannot compare (caller=). Every condition a rule
 * can carry is compared here: a new condition must be added too. */
bool ksmp_rule_covers(const struct ksmp_rule *a, const struct ksmp_rule *b);

/* Parse a size with an optional K, M, G (or KiB, MiB, GiB) suffix, powers
 * of 1024. Returns 0 or -EINVAL / -ERANGE. */
int ksmp_parse_size(const char *s, size_t len, uint64_t *out);

#endif
