/*
 * policy-int.h - internals shared by the policy library's source files.
 *
 * Everything here must stay allocation-free and locale-free: the preload
 * library runs this code before malloc is usable and inside mmap.
 */
#ifndef KSMP_POLICY_INT_H
#define KSMP_POLICY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

/* Defaults of a policy file for settings it does not give. */
#define KSMP_DEFAULT_MODE	KSMP_MODE_REGIONS
#define KSMP_DEFAULT_LOG	KSMP_LOG_ERROR
#define KSMP_DEFAULT_HEAP_STEP	(4ull << 20)
#define KSMP_HEAP_STEP_MIN	(64ull << 10)
#define KSMP_HEAP_STEP_MAX	(1ull << 30)
#define KSMP_DEFAULT_AUTO_CHUNK	(2ull << 20)
#define KSMP_AUTO_CHUNK_MIN	(64ull << 10)
#define KSMP_AUTO_CHUNK_MAX	(1ull << 30)
#define KSMP_DEFAULT_AUTO_VMAS	128u
#define KSMP_AUTO_VMAS_MAX	4096u
#define KSMP_DEFAULT_AUTO_REPROBE 60u
#define KSMP_AUTO_REPROBE_MAX	86400u
/* After this many problems in one file the parser stops (a binary file
 * would otherwise produce thousands of lines). */
#define KSMP_POLICY_MAX_PROBLEMS 100

/* A bounded string builder with snprintf-like semantics: len counts what
 * was needed, buf always stays NUL-terminated when size > 0. */
struct ksmp_sb {
	char *buf;
	size_t size;
	size_t len;
};

static inline void ksmp_sb_putc(struct ksmp_sb *sb, char c)
{
	if (sb->size && sb->len + 1 < sb->size) {
		sb->buf[sb->len] = c;
		sb->buf[sb->len + 1] = '\0';
	}
	sb->len++;
}

static inline void ksmp_sb_putn(struct ksmp_sb *sb, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ksmp_sb_putc(sb, s[i]);
}

static inline void ksmp_sb_puts(struct ksmp_sb *sb, const char *s)
{
	while (*s)
		ksmp_sb_putc(sb, *s++);
}

static inline void ksmp_sb_putu(struct ksmp_sb *sb, uint64_t v)
{
	char d[24];
	int n = 0;
	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		ksmp_sb_putc(sb, d[--n]);
}

static inline void ksmp_sb_init(struct ksmp_sb *sb, char *buf, size_t size)
{
	sb->buf = buf;
	sb->size = size;
	sb->len = 0;
	if (size)
		buf[0] = '\0';
}

/* Size with the largest exact K/M/G suffix. */
void ksmp_sb_putsize(struct ksmp_sb *sb, uint64_t v);

/* NULL if pat[0..len) is a valid glob, else a short reason. */
const char *ksmp_glob_check(const char *pat, size_t len);

/* Basename of a path (the part after the last '/'). */
const char *ksmp_basename(const char *path);

/* Text of the built-in default policy (policy/default.policy has the
 * same rules). */
extern const char ksmp_default_policy_text[];
/* Text of the default of programs in secure execution. */
extern const char ksmp_secure_policy_text[];
/* The rules a mode auto policy without rules of its own gets. */
extern const char ksmp_auto_rules_text[];

/* Short description of an errno value, without strerror (which may
 * allocate through gettext). */
const char *ksmp_errno_text(int err);

/* The name tables (names.c), indexed by their enums. */
extern const char *const ksmp_mode_names[KSMP_MODE_COUNT];
extern const char *const ksmp_kind_names[KSMP_KIND_COUNT];
extern const char *const ksmp_log_names[KSMP_LOG_COUNT];

/* ------------------------------------------- directory index (index.c) */
#define KSMP_INDEX_XATTR "user.ksmpreload.index"
#define KSMP_INDEX_MAX 4000	/* bytes: one block of most file systems */
#define KSMP_INDEX_SETTLE 2	/* s: how old a time the writer records */

struct stat;
/* One record of an index (index.c has the format). */
struct ksmp_index_rec {
	bool fp;		/* fingerprinted regular file */
	bool program;		/* may have a program line */
	unsigned char dtype;	/* d_type as the listing gave it */
	uint64_t dev, ino, size, mtime_s, mtime_ns, ctime_s, ctime_ns;
	const char *name;	/* not NUL-terminated */
	size_t namelen;
};
/* The length of the header line when the index is current for the
 * directory dir (its fstat), else 0. */
size_t ksmp_index_header(const char *t, size_t len, const struct stat *dir);
/* The record at *pos, *pos advanced: false at the end, or with *bad on a
 * malformed record. */
bool ksmp_index_record(const char *t, size_t len, size_t *pos,
		       struct ksmp_index_rec *r, bool *bad);
/* Is the file (fstatat, symbolic links followed) as recorded? */
bool ksmp_index_fresh(const struct ksmp_index_rec *r, const struct stat *st);

/* select.c: "*.policy", not hidden; and the directory's candidates, each
 * to fn (rewind: from the start of a directory read before). False on a
 * bad entry. */
bool ksmp_policy_candidate_name(const char *name, size_t n);
/* "what: the errno text" (err 0: "what") through diag, if any, as one
 * report about file. */
void ksmp_diag_errno(ksmp_diag_fn diag, void *ctx, const char *file,
		     const char *what, int err);
/* Policy files opened to be read, for the tests: an index saves opens. */
extern unsigned ksmp_policy_opens;
bool ksmp_policy_walk_dir(int dfd, bool rewind,
			  void (*fn)(void *, const char *, unsigned char), void *arg);

/* ------------------------------------------------ parser (policy.c) */
struct tok {
	const char *s;
	size_t n;
};

/* Settings that may appear once; index into parse.first[]. */
enum { S_NAME, S_PROGRAM, S_MODE, S_LOG, S_STRICT, S_CONTROL, S_HEAPSTEP,
       S_INHERITED, S_AUTOCHUNK, S_AUTOVMAS, S_AUTOREPROBE, S_SECUREEXEC, S_COUNT };

struct parse {
	struct ksmp_policy *p;
	const char *file;
	ksmp_diag_fn diag;
	void *ctx;
	unsigned line;
	int problems;
	bool stopped;
	bool programs_only;		/* read program lines, nothing else */
	unsigned first[S_COUNT];	/* line of the first occurrence */
	/* the rest of the current line, for the tokenizer */
	const char *cur, *end;
};

/* Parser helpers shared by policy.c and rule.c. */
bool pp_tok_is(struct tok t, const char *w);
bool pp_next_tok(struct parse *ps, struct tok *t);
void pp_report(struct parse *ps, const char *msg);
void pp_report3(struct parse *ps, const char *a, const struct tok *t,
		const char *b);
bool pp_pool_add(struct ksmp_policy *p, struct tok t, struct ksmp_str *out);
bool pp_glob_ok(struct parse *ps, const char *what, struct tok t);
bool pp_size_value(struct parse *ps, const char *what, struct tok v,
		   uint64_t *out);
int pp_word_index(struct tok t, const char *const *words, int n);
/* merge/skip RULE... (rule.c) */
void pp_kw_rule(struct parse *ps, struct tok kw, uint8_t action);

#endif
