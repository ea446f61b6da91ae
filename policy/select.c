/*
 * select.c - reading policy files and choosing the policy for a program.
 *
 * Runs in the preload library's constructor, before malloc is usable:
 * files are read with open/read/close into the caller's buffer, and the
 * policy directory is listed once with getdents64 into a stack buffer
 * (opendir would allocate). Names are visited in byte order: each step
 * picks the smallest name greater than the previous one, from the listing
 * (or, in a directory too big for it, from a new pass over the
 * directory). Only the program line of each file is parsed until one
 * matches (a file without one, by a quick look, not at all); that file
 * alone is parsed whole.
 *
 * Two directories, as systemd and modprobe.d do it: the vendor directory
 * (shipped policies) and the admin directory, where a file of the same
 * name overrides the vendor's, and an empty file or a symbolic link to
 * /dev/null masks it. Names are visited in byte order over both.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "policy-int.h"
#include "sys.h"

#ifndef KSMP_POLICYDIR
#define KSMP_POLICYDIR "/etc/ksmpreload/policy.d"
#endif
#ifndef KSMP_VENDORPOLICYDIR
#define KSMP_VENDORPOLICYDIR "/usr/lib/ksmpreload/policy.d"
#endif

#define KSMP_OVERFLOW_UID 65534

/*
 * In a privileged process (KSMP_SELECT_PRIVILEGED), use only files and
 * directories that nobody but root and the process itself can change:
 * owned by root or the effective uid, not writable by group or others.
 * st is what was opened (fstat of the descriptor), so symbolic links are
 * followed. Returns 0, or -EPERM after one report of why.
 */
static int check_trust(const struct stat *st, unsigned flags, const char *path,
		       ksmp_diag_fn diag, void *ctx)
{
	if (!(flags & KSMP_SELECT_PRIVILEGED))
		return 0;
	uid_t euid = ksmp_sys_geteuid();
	bool owner_ok = st->st_uid == 0 || st->st_uid == euid;
	bool mode_ok = !(st->st_mode & (S_IWGRP | S_IWOTH));
	char msg[256];
	struct ksmp_sb sb;

	if (owner_ok && mode_ok)
		return 0;
	if (!diag)
		return -EPERM;
	ksmp_sb_init(&sb, msg, sizeof msg);
	ksmp_sb_puts(&sb, "refused in a privileged process: ");
	if (!mode_ok) {
		ksmp_sb_puts(&sb, "writable by group or others");
	} else {
		ksmp_sb_puts(&sb, "owned by uid ");
		ksmp_sb_putu(&sb, st->st_uid);
		ksmp_sb_puts(&sb, euid ? ", neither root nor the process" : ", not root");
	}
	ksmp_sb_puts(&sb, " (mode ");
	for (int shift = 9; shift >= 0; shift -= 3)
		ksmp_sb_putc(&sb, (char)('0' + ((st->st_mode >> shift) & 7)));
	ksmp_sb_puts(&sb, ", owner uid ");
	ksmp_sb_putu(&sb, st->st_uid);
	ksmp_sb_puts(&sb, ")");
	if (mode_ok && st->st_uid == KSMP_OVERFLOW_UID)
		/* the kernel's default overflow uid: what a container's root
		 * sees for files of host root (libksmpreload(7), CONTAINERS) */
		ksmp_sb_puts(&sb, "; in a user namespace, files of an unmapped owner such as "
				  "host root show as this uid: give it to the namespace's root");
	diag(ctx, path, 0, msg);
	return -EPERM;
}

unsigned ksmp_policy_opens;

/* Read the policy file name, relative to dfd (or AT_FDCWD), into buf;
 * *len gets its size; path names it in reports. 0, or -errno (reported
 * through diag, which may be NULL). A privileged process (flags) checks
 * the owner and mode of what it opened (check_trust). */
static int read_text(int dfd, const char *name, const char *path, bool regular,
		     unsigned flags, char *buf, size_t bufsz, size_t *len,
		     ksmp_diag_fn diag, void *ctx)
{
	ksmp_policy_opens++;
	size_t cap = bufsz < KSMP_POLICY_MAX_FILE + 1 ? bufsz :
		KSMP_POLICY_MAX_FILE + 1;
	size_t n = 0;
	int err = 0, fd;

	/* O_NONBLOCK: a FIFO or a device must not stop the program in its
	 * constructor; anything but a regular file (or a directory, which
	 * read() reports as EISDIR) is refused before it is read. */
	do
		fd = ksmp_sys_openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		err = errno;
		ksmp_diag_errno(diag, ctx, path, "cannot open", err);
		return -err;
	}
	/* regular: the directory listing said so (d_type); a file swapped
	 * for something else since can at worst be read as it is. */
	struct stat st = { .st_mode = S_IFREG };
	if (flags & KSMP_SELECT_PRIVILEGED)
		regular = false;	/* its owner and mode are needed */
	if (!regular && (ksmp_sys_fstat(fd, &st) < 0 ||
			 (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)))) {
		ksmp_sys_close(fd);
		if (diag)
			diag(ctx, path, 0, "cannot open: not a regular file");
		return -EINVAL;
	}
	if ((err = check_trust(&st, flags, path, diag, ctx)) < 0) {
		ksmp_sys_close(fd);
		return err;
	}
	for (;;) {
		if (n == cap) {
			err = EFBIG;
			break;
		}
		ssize_t r = ksmp_sys_read(fd, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		/* the whole file (by fstat), or a short read of a file the
		 * listing called regular: no second read for the end */
		if (n < cap && (regular || (S_ISREG(st.st_mode) &&
					    n == (size_t)st.st_size)))
			break;
	}
	if (!err && n > KSMP_POLICY_MAX_FILE)
		err = EFBIG;
	ksmp_sys_close(fd);
	if (err) {
		ksmp_diag_errno(diag, ctx, path, err == EFBIG ? "cannot load" :
			   "cannot read", err);
		return -err;
	}
	*len = n;
	return 0;
}

static int load_flags(struct ksmp_policy *p, const char *path, unsigned flags,
		      char *buf, size_t bufsz, ksmp_diag_fn diag, void *ctx)
{
	size_t n = 0;

	if (!path || !*path) {
		ksmp_policy_parse(p, "(none)", NULL, 0, NULL, NULL);
		ksmp_diag_errno(diag, ctx, path ? path : "(null)", "cannot open",
			   ENOENT);
		return -ENOENT;
	}
	int r = read_text(AT_FDCWD, path, path, false, flags, buf, bufsz, &n,
			  diag, ctx);
	if (r < 0) {
		ksmp_policy_parse(p, path, NULL, 0, NULL, NULL);
		return r;
	}
	return ksmp_policy_parse(p, path, buf, n, diag, ctx);
}

int ksmp_policy_load(struct ksmp_policy *p, const char *path,
		     char *buf, size_t bufsz, ksmp_diag_fn diag, void *ctx)
{
	return load_flags(p, path, 0, buf, bufsz, diag, ctx);
}

/* After a failed load: the built-in default, unmerged, but keeping the
 * file's strict and log settings (the library must still honour
 * "strict yes" and know where the failure came from). */
static void fail_reset(struct ksmp_policy *p)
{
	uint8_t strict = p->strict, loglevel = p->loglevel;
	char source[KSMP_POLICY_SOURCE_MAX], name[KSMP_POLICY_NAME_MAX];

	memcpy(source, p->source, sizeof source);
	memcpy(name, p->name, sizeof name);
	ksmp_policy_default(p);
	p->mode = KSMP_MODE_OFF;
	p->strict = strict;
	p->loglevel = loglevel;
	memcpy(p->source, source, sizeof source);
	memcpy(p->name, name, sizeof name);
	p->source[sizeof p->source - 1] = '\0';
	p->name[sizeof p->name - 1] = '\0';
}

struct dirent64_ {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

#define DT_REG_ 8
#define DT_LNK_ 10
#define DT_UNKNOWN_ 0

/* "*.policy", not hidden (editors leave ".#x.policy" behind). */
bool ksmp_policy_candidate_name(const char *name, size_t n)
{
	return n > 7 && name[0] != '.' && memcmp(name + n - 7, ".policy", 7) == 0;
}

/* The candidate names of a directory, from its index when that is
 * current (index.c), else read with one pass of getdents64 (whole =
 * false when they do not all fit: then each next_name call reads the
 * directory again). */
#define LIST_BYTES 4096
#define LIST_MAX 128
struct listing {
	bool whole;
	bool indexed;		/* names (in text) from the index */
	unsigned n;
	size_t ilen;		/* indexed: the index's length */
	char *text;		/* LIST_BYTES: the index, or the names */
	uint16_t off[LIST_MAX];	/* each name in text */
	uint16_t rec[LIST_MAX];	/* indexed: each name's record in text */
	unsigned char type[LIST_MAX];
};
_Static_assert(LIST_BYTES >= KSMP_INDEX_MAX + 1, "a listing's text holds an index");

/* Offer one directory entry: keep it in best when it is the smallest
 * candidate greater than last so far. */
static void consider(const char *name, unsigned char dtype, const char *last,
		     char *best, size_t bestsz, int *type)
{
	size_t len = strnlen(name, 256);
	if (len >= bestsz || !ksmp_policy_candidate_name(name, len))
		return;
	if (last[0] && strcmp(name, last) <= 0)
		return;
	if (*type >= 0 && strcmp(name, best) >= 0)
		return;
	memcpy(best, name, len + 1);
	*type = dtype;
}

/* Walk the directory from its start (rewind: it has been read before;
 * a directory just opened is at its start); each candidate goes to fn.
 * Returns false on a bad entry. */
bool ksmp_policy_walk_dir(int dfd, bool rewind,
			  void (*fn)(void *, const char *, unsigned char), void *arg)
{
	char dbuf[4096] __attribute__((aligned(8)));

	if (rewind && ksmp_sys_lseek(dfd, 0, SEEK_SET) < 0)
		return false;
	for (;;) {
		long n = ksmp_sys_getdents64(dfd, dbuf, sizeof dbuf);
		if (n <= 0)
			return true;
		for (long off = 0; off < n;) {
			struct dirent64_ *d = (struct dirent64_ *)(void *)(dbuf + off);
			if (d->d_reclen == 0)
				return false;
			off += d->d_reclen;
			size_t len = strnlen(d->d_name, 256);
			if (ksmp_policy_candidate_name(d->d_name, len))
				fn(arg, d->d_name, d->d_type);
		}
	}
}

static void list_one(void *arg, const char *name, unsigned char dtype)
{
	struct listing *l = arg;
	size_t len = strlen(name) + 1;
	size_t used = l->n ? l->off[l->n - 1] + strlen(l->text + l->off[l->n - 1]) + 1 : 0;
	if (!l->whole || l->n == LIST_MAX || used + len > LIST_BYTES) {
		l->whole = false;
		return;
	}
	memcpy(l->text + used, name, len);
	l->off[l->n] = (uint16_t)used;
	l->type[l->n++] = dtype;
}

/* The names of a current index into l (true), or false: no index, a
 * stale or malformed one, or more names than a listing holds. dst: the
 * directory's fstat when the caller has it (else NULL). The names stay
 * in the index text, each NUL-terminated in place. */
static bool list_index(int dfd, const struct stat *dst, struct listing *l)
{
	struct stat st;
	struct ksmp_index_rec r;
	bool bad;

	ssize_t len = ksmp_sys_fgetxattr(dfd, KSMP_INDEX_XATTR, l->text, KSMP_INDEX_MAX);
	if (len <= 0)
		return false;
	if (!dst) {
		if (ksmp_sys_fstat(dfd, &st) < 0)
			return false;
		dst = &st;
	}
	size_t pos = ksmp_index_header(l->text, (size_t)len, dst);
	if (!pos)
		return false;
	l->ilen = (size_t)len;
	for (size_t at = pos; ksmp_index_record(l->text, l->ilen, &pos, &r, &bad);
	     at = pos) {
		char *name = l->text + (r.name - l->text);
		name[r.namelen] = '\0';
		if (l->n == LIST_MAX || r.namelen > 255 ||
		    !ksmp_policy_candidate_name(name, r.namelen) ||
		    strlen(name) != r.namelen)
			return false;
		l->off[l->n] = (uint16_t)(r.name - l->text);
		l->rec[l->n] = (uint16_t)at;
		l->type[l->n++] = r.dtype;
	}
	return !bad;
}

/* List a directory's candidates (nothing for fd -1). */
static void list_dir(int dfd, const struct stat *dst, struct listing *l)
{
	l->whole = true;
	l->n = 0;
	l->indexed = false;
	if (dfd < 0)
		return;
	if (list_index(dfd, dst, l)) {
		l->indexed = true;
		return;
	}
	l->n = 0;		/* what list_index took before it gave up */
	if (!ksmp_policy_walk_dir(dfd, false, list_one, l))
		l->n = 0;
}

/* Can the file name of the directory dfd, listed in l, be passed over
 * without reading it? Only when l came from a current index whose record
 * says the file has no program line, and an fstatat shows it unchanged
 * (and, in a privileged process, trusted: an untrusted one is read, and
 * refused there with its report). */
static bool index_skips(int dfd, const struct listing *l, const char *name,
			unsigned flags)
{
	struct ksmp_index_rec r;
	struct stat st;
	bool bad;

	if (!l->indexed)
		return false;
	for (unsigned i = 0; i < l->n; i++) {
		if (strcmp(l->text + l->off[i], name) != 0)
			continue;
		size_t pos = l->rec[i];
		return ksmp_index_record(l->text, l->ilen, &pos, &r, &bad) &&
		       r.fp && !r.program && ksmp_sys_fstatat(dfd, name, &st, 0) == 0 &&
		       ksmp_index_fresh(&r, &st) &&
		       check_trust(&st, flags, name, NULL, NULL) == 0;
	}
	return false;
}

struct pick {
	const char *last;
	char *best;
	size_t bestsz;
	int type;
};

static void pick_one(void *arg, const char *name, unsigned char dtype)
{
	struct pick *k = arg;
	consider(name, dtype, k->last, k->best, k->bestsz, &k->type);
}

/*
 * Find the smallest candidate name greater than last (or any, if last is
 * empty) in the directory. Returns its d_type, or -1 when there is none.
 */
static int next_name(int dfd, const struct listing *l, const char *last,
		     char *best, size_t bestsz)
{
	struct pick k = { last, best, bestsz, -1 };

	best[0] = '\0';
	if (l->whole) {
		for (unsigned i = 0; i < l->n; i++)
			consider(l->text + l->off[i], l->type[i], last, best,
				 bestsz, &k.type);
		return k.type;
	}
	if (!ksmp_policy_walk_dir(dfd, true, pick_one, &k))
		return -1;
	return k.type;
}

/* How a name resolves in the two directories. */
enum entry { E_NONE, E_FILE, E_MASKED };

/* An admin entry that masks the vendor file of the same name: an empty
 * file, or a symbolic link to /dev/null (or to any device). */
static enum entry admin_entry(int dfd, const char *name)
{
	struct stat st;
	if (dfd < 0 || ksmp_sys_fstatat(dfd, name, &st, 0) < 0)
		return E_NONE;
	if (S_ISCHR(st.st_mode) || (S_ISREG(st.st_mode) && st.st_size == 0))
		return E_MASKED;
	return S_ISREG(st.st_mode) ? E_FILE : E_NONE;
}

static bool regular_at(int dfd, const char *name)
{
	struct stat st;
	return dfd >= 0 && ksmp_sys_fstatat(dfd, name, &st, 0) == 0 && S_ISREG(st.st_mode);
}

/* dir/name into out (nothing when out is NULL: only which file is asked) */
static bool join(char *out, size_t size, const char *dir, const char *name)
{
	if (!out)
		return true;
	size_t dl = strlen(dir), nl = strlen(name);
	if (dl + 1 + nl + 1 > size)
		return false;
	memcpy(out, dir, dl);
	out[dl] = '/';
	memcpy(out + dl + 1, name, nl + 1);
	return true;
}

/* Which file NAME stands for: the admin directory's, unless it masks the
 * name, else the vendor directory's; *dfd tells which directory, path
 * (unless NULL) gets its path. */
static int resolve_name(int afd, const char *admin, int vfd, const char *vendor,
			const char *name, char *path, size_t size, int *dfd)
{
	enum entry e = admin_entry(afd, name);
	if (e == E_MASKED)
		return KSMP_POLICY_MASKED;
	*dfd = e == E_FILE ? afd : vfd;
	if (e == E_FILE)
		return join(path, size, admin, name) ? 0 : -ENAMETOOLONG;
	if (vendor && regular_at(vfd, name))
		return join(path, size, vendor, name) ? 0 : -ENAMETOOLONG;
	return -ENOENT;
}

static int open_dir(const char *dir)
{
	int dfd;
	if (!dir)
		return -1;
	do
		dfd = ksmp_sys_open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	while (dfd < 0 && errno == EINTR);
	return dfd;
}

int ksmp_policy_lookup(const char *admin, const char *vendor, const char *name,
		       char *path, size_t size)
{
	int afd = open_dir(admin), vfd = open_dir(vendor), dfd;
	int r = resolve_name(afd, admin, vfd, vendor, name, path, size, &dfd);
	if (afd >= 0)
		ksmp_sys_close(afd);
	if (vfd >= 0)
		ksmp_sys_close(vfd);
	return r;
}

/* The smallest candidate name after last in either directory: 1 when it
 * is in the admin directory (its d_type in *type), 2 when only in the
 * vendor one (as far as the admin listing tells), 0 when there is none. */
static int next_of_two(int afd, const struct listing *al, int vfd,
		       const struct listing *vl, const char *last, char *name,
		       size_t size, int *type)
{
	char other[256];
	int ta = afd >= 0 ? next_name(afd, al, last, name, size) : -1;
	int tv = vfd >= 0 ? next_name(vfd, vl, last, other, sizeof other) : -1;
	if (tv >= 0 && (ta < 0 || strcmp(other, name) < 0)) {
		memcpy(name, other, strlen(other) + 1);
		*type = tv;
		return 2;
	}
	*type = ta;
	return ta >= 0 ? 1 : 0;
}

/* The file a name stands for, without a stat when the listings already
 * tell: a regular file in the admin directory (an empty one, which masks
 * the name, reads as empty), or one only in the vendor directory. *dfd
 * tells which directory, path (unless NULL) gets its path. */
static int path_of(int src, int type, bool admin_whole, int afd,
		   const char *admin, int vfd, const char *vendor,
		   const char *name, char *path, size_t size, int *dfd)
{
	*dfd = src == 1 ? afd : vfd;
	if (src == 1 && type == DT_REG_)
		return join(path, size, admin, name) ? 0 : -ENAMETOOLONG;
	if (src == 2 && type == DT_REG_ && (afd < 0 || admin_whole))
		return join(path, size, vendor, name) ? 0 : -ENAMETOOLONG;
	return resolve_name(afd, admin, vfd, vendor, name, path, size, dfd);
}

/* A privileged process's check of an open policy directory (dfd < 0:
 * none, nothing to check); *have: its fstat is in st (for the index). */
static int check_dir(int dfd, const char *dir, unsigned flags,
		     ksmp_diag_fn diag, void *ctx, struct stat *st, bool *have)
{
	*have = false;
	if (dfd < 0 || !(flags & KSMP_SELECT_PRIVILEGED))
		return 0;
	if (ksmp_sys_fstat(dfd, st) < 0) {
		int err = errno;
		ksmp_diag_errno(diag, ctx, dir, "cannot open policy directory", err);
		return -err;
	}
	*have = true;
	return check_trust(st, flags, dir, diag, ctx);
}

/* An open directory and its fstat, when check_dir took it. */
struct dir {
	int fd;
	const char *path;
	bool have;
	struct stat st;
};

/* Does p's program line match exe, argv0 (exe NULL with
 * KSMP_SELECT_SELF_EXE: the executable's path, read only now)? Apart, so
 * that the path's buffer is no part of select_in_dirs' frame, which every
 * process's stack holds while it lists the directories. */
static __attribute__((noinline)) bool matches(const struct ksmp_policy *p,
					      const char *exe, const char *argv0,
					      unsigned flags)
{
	char self[4096];
	if (!exe && (flags & KSMP_SELECT_SELF_EXE)) {
		ssize_t n = ksmp_sys_readlink("/proc/self/exe", self, sizeof(self) - 1);
		self[n > 0 ? n : 0] = '\0';
		exe = self;
	}
	return ksmp_policy_matches_program(p, exe, argv0);
}

/* The first file of the two directories whose program line matches, or
 * the default. A file a privileged process must refuse ends the search:
 * it could be the one meant for this program. */
static int select_in_dirs(struct ksmp_policy *p, const struct dir *a,
			  const struct dir *v, const char *exe,
			  const char *argv0, unsigned flags, char *buf,
			  size_t bufsz, ksmp_diag_fn diag, void *ctx)
{
	/* Every process's start runs this: what a pass over indexed
	 * directories touches (names, the listings, the first admin
	 * directory's index text) lies together at the frame's low end,
	 * beside the callees' frames, and the buffers it may never touch
	 * (path: a file not passed over) above, so that the start faults
	 * in one new page of stack or two, not three. */
	struct {
		char last[256], name[256];
		struct listing al, vl;
		char atext[LIST_BYTES], vtext[LIST_BYTES], path[4096];
	} f;
	char *const last = f.last, *const name = f.name, *const path = f.path;
	struct listing *const al = &f.al, *const vl = &f.vl;
	int src, type, dfd;
	int afd = a->fd, vfd = v->fd;
	const char *admin = a->path, *vendor = v->path;

	last[0] = '\0';
	al->text = f.atext;
	vl->text = f.vtext;
	list_dir(afd, a->have ? &a->st : NULL, al);
	list_dir(vfd, v->have ? &v->st : NULL, vl);
	while ((src = next_of_two(afd, al, vfd, vl, last, name, sizeof f.name,
				  &type)) != 0) {
		memcpy(last, name, sizeof f.last);
		if (path_of(src, type, al->whole, afd, admin, vfd, vendor, name,
			    NULL, 0, &dfd) != 0)
			continue;
		/* unchanged since indexed, without a program line */
		if (index_skips(dfd, dfd == afd ? al : vl, name, flags))
			continue;
		if (!join(path, sizeof f.path, dfd == afd ? admin : vendor, name))
			continue;
		/* Quietly, and only its program line first: problems in files
		 * for other programs are not this program's business. A
		 * regular file (listing or stat): no fstat again; an empty
		 * one has no program line (in the admin directory it masks
		 * the vendor's file of its name). */
		size_t len = 0;
		int r = read_text(dfd, name, path, true, flags, buf, bufsz, &len,
				  NULL, NULL);
		if (r == -EPERM) {
			read_text(dfd, name, path, true, flags, buf, bufsz, &len,
				  diag, ctx);
			ksmp_policy_parse(p, path, NULL, 0, NULL, NULL);
			fail_reset(p);
			return r;
		}
		if (r < 0 || !ksmp_policy_may_have_program(buf, len))
			continue;
		ksmp_policy_parse_programs(p, path, buf, len);
		if (!matches(p, exe, argv0, flags))
			continue;
		r = ksmp_policy_parse(p, path, buf, len, diag, ctx);
		if (r != 0)
			fail_reset(p);
		else if ((flags & KSMP_SELECT_SECURE_EXEC) && !p->secure_exec)
			break;	/* not written for a privileged program */
		return r;
	}
	if (flags & KSMP_SELECT_SECURE)
		ksmp_policy_default_secure(p);
	else if ((flags & KSMP_SELECT_BUILTIN_IMAGE) && ksmp_policy_default_image)
		return KSMP_POLICY_BUILTIN;	/* p unwritten */
	else
		ksmp_policy_default(p);
	return 0;
}

static int select_dirs(struct ksmp_policy *p, const char *env_policy,
		       const char *admin, const char *vendor, bool must_exist,
		       const char *exe, const char *argv0, unsigned flags,
		       char *buf, size_t bufsz, ksmp_diag_fn diag, void *ctx)
{
	if (env_policy && *env_policy) {
		int r = load_flags(p, env_policy, flags, buf, bufsz, diag, ctx);
		if (r != 0)
			fail_reset(p);
		return r;
	}
	int afd = open_dir(admin);
	if (afd < 0 && must_exist) {
		int err = errno;
		/* The compiled-in directories may well not exist; a directory
		 * the user named must. */
		ksmp_policy_default(p);
		ksmp_diag_errno(diag, ctx, admin, "cannot open policy directory", err);
		fail_reset(p);
		return -err;
	}
	struct dir a = { .fd = afd, .path = admin }, v = { .path = vendor };
	v.fd = open_dir(vendor);
	int vfd = v.fd;
	int r = check_dir(afd, admin, flags, diag, ctx, &a.st, &a.have);
	if (!r)
		r = check_dir(vfd, vendor, flags, diag, ctx, &v.st, &v.have);
	if (r) {
		ksmp_policy_default(p);
		fail_reset(p);
	} else {
		r = select_in_dirs(p, &a, &v, exe, argv0, flags, buf, bufsz,
				   diag, ctx);
	}
	if (afd >= 0)
		ksmp_sys_close(afd);
	if (vfd >= 0)
		ksmp_sys_close(vfd);
	return r;
}

int ksmp_policy_select_dirs(struct ksmp_policy *p, const char *env_policy,
			    const char *admin, const char *vendor, bool must_exist,
			    const char *exe, const char *argv0, char *buf,
			    size_t bufsz, ksmp_diag_fn diag, void *ctx)
{
	return select_dirs(p, env_policy, admin, vendor, must_exist, exe, argv0,
			   0, buf, bufsz, diag, ctx);
}

int ksmp_policy_select_flags(struct ksmp_policy *p, const char *env_policy,
			     const char *env_dir, const char *exe,
			     const char *argv0, unsigned flags, char *buf,
			     size_t bufsz, ksmp_diag_fn diag, void *ctx)
{
	if (env_dir && *env_dir)
		return select_dirs(p, env_policy, env_dir, NULL, true, exe,
				   argv0, flags, buf, bufsz, diag, ctx);
	return select_dirs(p, env_policy, KSMP_POLICYDIR, KSMP_VENDORPOLICYDIR,
			   false, exe, argv0, flags, buf, bufsz, diag, ctx);
}

int ksmp_policy_select(struct ksmp_policy *p, const char *env_policy,
		       const char *env_dir, const char *exe, const char *argv0,
		       char *buf, size_t bufsz, ksmp_diag_fn diag, void *ctx)
{
	return ksmp_policy_select_flags(p, env_policy, env_dir, exe, argv0, 0,
					buf, bufsz, diag, ctx);
}
