/*
 * mergefs - see and steer KSM per process through a FUSE filesystem.
 *
 *   mergefs [-f] [-o allow_other,timeout=MS,...] [SOURCE] MOUNTPOINT
 *
 * Layout (mergefs(8)): /stats, /metrics, /ksm/KNOB, /PID/{stats,merge,
 * regions,regions_ksm,policy} for every process (listed: those with KSM
 * activity or the library). Dynamic files use direct_io: content is built at open into the
 * file handle and served by offset; writes are carried out at once.
 *
 * Permissions are ours, not the kernel's (no default_permissions): a
 * process's files are for root and its owner only, knobs are writable by
 * root only. The FUSE caller is a thread id, mapped to its process.
 *
 * Uses the high-level libfuse 3.14 API; handlers return 0 or -errno.
 */
#define FUSE_USE_VERSION 314
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ksmp_ksmd.h"
#include "mergefs.h"

#define MAX_WRITE 256		/* longer writes are bad input */

/* ---------------------------------------------------------------- paths */
enum node {
	N_NONE = 0,
	N_ROOT,
	N_KSMDIR,
	N_PIDDIR,
	N_FILE,
};

struct where {
	enum node node;
	const struct mfile *f;	/* N_FILE */
	pid_t pid;		/* per-process: its pid; else 0 */
	int knob;		/* ksm/ files: knob index; else -1 */
};

static int parse_pid(const char *s, size_t n, pid_t *pid)
{
	if (n == 0 || n > 10 || s[0] == '0')
		return -1;
	long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v <= 0 || v > INT_MAX)
		return -1;
	*pid = (pid_t)v;
	return 0;
}

static struct where parse_path(const char *path)
{
	struct where w = { N_NONE, NULL, 0, -1 };
	if (!strcmp(path, "/")) {
		w.node = N_ROOT;
		return w;
	}
	if (path[0] != '/')
		return w;
	const char *a = path + 1;
	const char *slash = strchr(a, '/');
	size_t alen = slash ? (size_t)(slash - a) : strlen(a);
	const char *rest = slash ? slash + 1 : NULL;
	if (!rest) {
		if ((w.f = mfile_find(host_files, a)))
			w.node = N_FILE;
		else if (!strcmp(a, "ksm"))
			w.node = N_KSMDIR;
		else if (parse_pid(a, alen, &w.pid) == 0)
			w.node = N_PIDDIR;
		return w;
	}
	if (strchr(rest, '/'))
		return w;
	if (alen == 3 && !strncmp(a, "ksm", 3)) {
		int k = knob_index(rest);
		if (k >= 0 && knob_present(k)) {
			w.node = N_FILE;
			w.f = &knob_file;
			w.knob = k;
		}
		return w;
	}
	if (parse_pid(a, alen, &w.pid) == 0 && (w.f = mfile_find(pid_files, rest)))
		w.node = N_FILE;
	else
		w.pid = 0;
	return w;
}

/* Test hook (tests/security/owner_race.sh): milliseconds an open waits
 * between taking a process's start time and attaching it, from
 * KSMP_MERGEFS_RACE_MS in mergefs's environment (root's); 0: never. It
 * only widens a window that exists anyway, so that a test can reuse the
 * pid inside it every time. */
unsigned race_ms;
static __thread int in_open;

/* Does /PID exist: any running process (its caller being root or its
 * owner: outsider()). Fills owner uid, the target (referenced, or NULL)
 * and the ksm figures.
 *
 * The owner is that of the process we attached: status is read after the
 * target (whose pidfd names one process) and counts only if the pid still
 * names the process started when we began (same start time, target still
 * alive), so a pid reused meanwhile can never lend its new process the
 * old one's owner. */
static int pid_lookup(pid_t pid, uid_t *owner, uint64_t *start, struct target **tp,
		      struct pksm *k)
{
	struct pstatus ps;
	uint64_t s1, s2;
	int err;
	if (ksmp_proc_starttime(pid, &s1) < 0)
		return -ENOENT;
	if (race_ms && in_open)
		usleep(race_ms * 1000);
	struct target *t = target_get(pid, &err);
	if (err == -ENOENT)
		return -ENOENT;
	if (proc_status(pid, &ps) < 0 || ps.tgid != pid || ksmp_proc_starttime(pid, &s2) < 0 ||
	    s2 != s1 || (t && (t->starttime != s1 || !target_alive(t)))) {
		target_put(t);
		return -ENOENT;	/* gone, a thread id, or another process now */
	}
	if (proc_ksm(pid, k) < 0)
		memset(k, 0, sizeof(*k));
	/* any process, with or without KSM: its merge file attaches it
	 * (attach.c); listings show only those with KSM or the library */
	*owner = ps.owner;
	if (start)
		*start = s1;
	if (tp)
		*tp = t;
	else
		target_put(t);
	return 0;
}

/* The file at w: its context (c->t referenced: target_put it), owner and
 * mode. 0 or -errno. */
static int file_lookup(const struct where *w, struct fctx *c, mode_t *mode)
{
	memset(c, 0, sizeof(*c));
	c->pid = w->pid;
	c->knob = w->knob;
	if (!w->pid) {
		*mode = mfile_mode(w->f, 1);
		return 0;
	}
	int r = pid_lookup(w->pid, &c->owner, &c->start, &c->t, &c->k);
	if (r < 0)
		return r;
	*mode = mfile_mode(w->f, c->t ? steer_reason(c->t) == NULL : w->f->bare);
	return 0;
}

/* The calling process (the FUSE caller is a thread id). */
static pid_t caller_tgid(void)
{
	struct fuse_context *ctx = fuse_get_context();
	struct pstatus ps;
	if (ctx->pid > 0 && proc_status(ctx->pid, &ps) == 0)
		return ps.tgid;
	return ctx->pid;
}

/* Is the caller an outsider to pid: neither root nor its owner? 1 or 0
 * (*ps filled), -ENOENT when no such process runs. An outsider learns of
 * a process no more than /proc tells everyone (mergefs(8), ACCESS): the
 * same directory, modes and owner, and EACCES on open, whether or not the
 * process uses KSM or the library, and it is never attached for them. */
static int outsider(pid_t pid, struct pstatus *ps)
{
	uid_t uid = fuse_get_context()->uid;
	if (proc_status(pid, ps) < 0 || ps->tgid != pid)
		return -ENOENT;
	return uid != 0 && uid != ps->owner;
}

/* A /PID directory: 0 and its owner, or -errno when there is none (an
 * outsider is told of any process, its owner as /proc shows it; root or
 * the owner only of one that pid_lookup finds). */
static int piddir_owner(pid_t pid, uid_t *owner)
{
	struct pksm k;
	struct pstatus ps;
	int r = outsider(pid, &ps);
	if (r == 0)
		r = pid_lookup(pid, owner, NULL, NULL, &k);
	else if (r > 0)
		*owner = ps.owner;
	return r < 0 ? r : 0;
}

/* ---------------------------------------------------------------- handles */
struct handle {
	uid_t uid;		/* who opened it: counted in limits.c */
	struct where w;
	struct fctx c;		/* c.t referenced, for writes */
	struct mbuf content;
	mode_t mode;		/* what getattr said at open */
	struct handle *next;	/* open_lock */
};

/* Open per-process files, so that fstat of one whose process has gone
 * still answers (the kernel sends fstat as a path getattr). */
static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static struct handle *open_list;	/* open_lock */

static int open_attr(const struct where *w, struct stat *sb)
{
	int r = -ENOENT;
	uid_t uid = fuse_get_context()->uid;
	pthread_mutex_lock(&open_lock);
	for (struct handle *h = open_list; h; h = h->next) {
		if (h->w.f == w->f && h->w.pid == w->pid && h->w.knob == w->knob &&
		    (uid == 0 || uid == h->uid)) {
			sb->st_mode = h->mode;
			sb->st_uid = h->c.owner;
			r = 0;
			break;
		}
	}
	pthread_mutex_unlock(&open_lock);
	return r;
}

static int do_getattr(const char *path, struct stat *sb, struct fuse_file_info *fi)
{
	struct where w = parse_path(path);
	memset(sb, 0, sizeof(*sb));
	sb->st_nlink = 1;
	time_t now = time(NULL);
	sb->st_atime = sb->st_mtime = sb->st_ctime = now;
	if (fi && fi->fh) {
		/* fstat of an open file: answer from the handle, even when
		 * the process has gone since. */
		struct handle *h = (struct handle *)(uintptr_t)fi->fh;
		sb->st_mode = h->mode;
		sb->st_uid = h->c.owner;
		return 0;
	}
	switch (w.node) {
	case N_ROOT:
	case N_KSMDIR:
		sb->st_mode = S_IFDIR | 0555;
		sb->st_nlink = 2;
		return 0;
	case N_PIDDIR: {
		uid_t owner;
		int r = piddir_owner(w.pid, &owner);
		if (r < 0)
			return r;
		sb->st_uid = owner;
		sb->st_mode = S_IFDIR | 0555;
		sb->st_nlink = 2;
		return 0;
	}
	case N_FILE: {
		struct fctx c;
		mode_t mode;
		struct pstatus ps;
		if (w.pid && outsider(w.pid, &ps) > 0) {
			sb->st_mode = mfile_mode(w.f, 0);
			sb->st_uid = ps.owner;
			return 0;
		}
		int r = file_lookup(&w, &c, &mode);
		if (r < 0)
			return w.pid ? open_attr(&w, sb) : r;
		sb->st_mode = mode;
		sb->st_uid = c.owner;
		target_put(c.t);
		return 0;
	}
	default:
		return -ENOENT;
	}
}

struct fill_ctx {
	void *buf;
	fuse_fill_dir_t filler;
	uid_t uid;		/* the caller: other than root, sees its own only */
};

static int fill_pid(void *ctx, pid_t pid, const struct pksm *k, struct target *t)
{
	(void)k;
	(void)t;
	struct fill_ctx *fc = ctx;
	struct pstatus ps;
	if (fc->uid != 0 && (proc_status(pid, &ps) < 0 || ps.owner != fc->uid))
		return 0;
	char name[16];
	snprintf(name, sizeof(name), "%d", (int)pid);
	return fc->filler(fc->buf, name, NULL, 0, 0) ? 1 : 0;
}

static void fill_files(void *buf, fuse_fill_dir_t filler, const struct mfile *dir)
{
	for (const struct mfile *f = dir; f->name; f++)
		filler(buf, f->name, NULL, 0, 0);
}

static int do_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
		     struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)off;
	(void)fi;
	(void)flags;
	struct where w = parse_path(path);
	filler(buf, ".", NULL, 0, 0);
	filler(buf, "..", NULL, 0, 0);
	switch (w.node) {
	case N_ROOT: {
		fill_files(buf, filler, host_files);
		filler(buf, "ksm", NULL, 0, 0);
		target_sweep();
		struct fill_ctx fc = { buf, filler, fuse_get_context()->uid };
		return scan_ksm_pids(fill_pid, &fc, SCAN_PEEK);
	}
	case N_KSMDIR:
		for (int i = 0; i < knob_count(); i++)
			if (knob_present(i))
				filler(buf, knob_name(i), NULL, 0, 0);
		return 0;
	case N_PIDDIR: {
		uid_t owner;
		int r = piddir_owner(w.pid, &owner);
		if (r < 0)
			return r;
		fill_files(buf, filler, pid_files);
		return 0;
	}
	case N_NONE:
		return -ENOENT;
	default:
		return -ENOTDIR;
	}
}

static void handle_free(struct handle *h)
{
	uid_handle_del(h->uid);
	target_put(h->c.t);
	mb_free(&h->content);
	free(h);
}

static int do_open(const char *path, struct fuse_file_info *fi)
{
	struct where w = parse_path(path);
	int acc = fi->flags & O_ACCMODE;
	int wr = acc != O_RDONLY;
	if (w.node == N_NONE)
		return -ENOENT;
	if (w.node != N_FILE)
		return -EISDIR;
	struct pstatus ps;
	int o = w.pid ? outsider(w.pid, &ps) : 0;
	if (o != 0)
		return o < 0 ? o : -EACCES;
	uid_t uid = fuse_get_context()->uid;
	if (uid_handle_add(uid) < 0)
		return -EMFILE;
	struct handle *h = calloc(1, sizeof(*h));
	if (!h) {
		uid_handle_del(uid);
		return -ENOMEM;
	}
	h->uid = uid;
	h->w = w;
	in_open = 1;
	int r = file_lookup(&w, &h->c, &h->mode);
	in_open = 0;
	h->c.caller_uid = uid;	/* /metrics is rendered for its reader */
	if (!r && !mfile_may(h->mode, h->c.owner, uid, acc == O_WRONLY ? 0 : 4))
		r = -EACCES;
	if (!r && wr && !mfile_may(h->mode, h->c.owner, uid, 2))
		r = -EACCES;	/* read-only: stats say why */
	if (!r && acc != O_WRONLY)
		r = w.f->render(&h->content, &h->c);
	if (!r && target_hit(h->c.t))
		r = -EIO;	/* its block shrank under us (target.c) */
	if (!r && h->content.oom)
		r = -ENOMEM;
	if (r < 0) {
		handle_free(h);
		return r;
	}
	if (w.pid) {
		pthread_mutex_lock(&open_lock);
		h->next = open_list;
		open_list = h;
		pthread_mutex_unlock(&open_lock);
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->direct_io = 1;
	fi->keep_cache = 0;
	fi->nonseekable = 0;
	return 0;
}

static int m_read(const char *path, char *buf, size_t size, off_t off,
		  struct fuse_file_info *fi)
{
	(void)path;
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	if (off < 0)
		return -EINVAL;
	if ((size_t)off >= h->content.len)
		return 0;
	size_t n = h->content.len - (size_t)off;
	if (n > size)
		n = size;
	memcpy(buf, h->content.p + off, n);
	return (int)n;
}

/* One write = one whole command, at offset 0, short, printable. The
 * returned length is the text (without the newline) or -EINVAL. */
static int clean_input(const char *buf, size_t size, off_t off, char *out, size_t outsz)
{
	if (off != 0 || size == 0 || size >= outsz || size > MAX_WRITE)
		return -EINVAL;
	size_t n = size;
	if (buf[n - 1] == '\n')
		n--;
	if (n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			return -EINVAL;
	memcpy(out, buf, n);
	out[n] = 0;
	return (int)n;
}

static int do_write(const char *path, const char *buf, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	(void)path;
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	char s[MAX_WRITE + 1];
	if (!h->w.f->write)
		return -EBADF;
	int r = clean_input(buf, size, off, s, sizeof(s));
	if (r < 0)
		return r;
	h->c.caller_uid = fuse_get_context()->uid;
	h->c.caller_tgid = caller_tgid();
	h->c.timeout_ms = (int)mergefs_opts.timeout_ms;
	r = h->w.f->write(&h->c, s, (size_t)r);
	return r < 0 ? r : (int)size;
}

static int do_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	(void)fi;
	/* "echo 0 > merge" opens with O_TRUNC: accept it on writable files. */
	struct where w = parse_path(path);
	if (size != 0)
		return -EINVAL;
	if (w.node == N_NONE)
		return -ENOENT;
	if (w.node != N_FILE || !w.f->write)
		return -EACCES;
	struct pstatus ps;
	int o = w.pid ? outsider(w.pid, &ps) : 0;
	if (o != 0)
		return o < 0 ? o : -EACCES;
	struct fctx c;
	mode_t mode;
	int r = file_lookup(&w, &c, &mode);
	if (r == 0 && !mfile_may(mode, c.owner, fuse_get_context()->uid, 2))
		r = -EACCES;
	target_put(c.t);
	return r;
}

static int m_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	if (h) {
		pthread_mutex_lock(&open_lock);
		for (struct handle **pp = &open_list; *pp; pp = &(*pp)->next) {
			if (*pp == h) {
				*pp = h->next;
				break;
			}
		}
		pthread_mutex_unlock(&open_lock);
		handle_free(h);
	}
	return 0;
}

static void *m_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	(void)conn;
	cfg->entry_timeout = 1.0;
	/* Attributes differ by caller (an outsider sees less: outsider()),
	 * and the kernel would serve one caller's to all: never cache them. */
	cfg->attr_timeout = 0;
	cfg->negative_timeout = 0;
	cfg->direct_io = 1;
	cfg->use_ino = 0;
	/* here, after fuse_main daemonised: a thread made before would not
	 * survive its fork */
	if (auto_start(mergefs_opts.auto_ms) < 0)
		fprintf(stderr, "mergefs: mode auto controller not started\n");
	return NULL;
}

/* Every request but read and release (which only copy a rendered buffer
 * or free it) counts against its uid's limit (limits.c). */
#define GATED(call)                                          \
	do {                                                 \
		uid_t u_ = fuse_get_context()->uid;          \
		int g_ = uid_enter(u_);                      \
		if (g_ < 0)                                  \
			return g_;                           \
		int r_ = (call);                             \
		uid_leave(u_);                               \
		return r_;                                   \
	} while (0)

static int m_getattr(const char *path, struct stat *sb, struct fuse_file_info *fi)
{
	GATED(do_getattr(path, sb, fi));
}

static int m_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
		     struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	GATED(do_readdir(path, buf, filler, off, fi, flags));
}

static int m_open(const char *path, struct fuse_file_info *fi)
{
	GATED(do_open(path, fi));
}

static int m_write(const char *path, const char *buf, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	GATED(do_write(path, buf, size, off, fi));
}

static int m_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	GATED(do_truncate(path, size, fi));
}

const struct fuse_operations mergefs_ops = {
	.init = m_init,
	.getattr = m_getattr,
	.readdir = m_readdir,
	.open = m_open,
	.read = m_read,
	.write = m_write,
	.truncate = m_truncate,
	.release = m_release,
};
