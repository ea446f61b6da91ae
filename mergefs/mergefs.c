/*
 * mergefs - see and steer KSM per process through a FUSE filesystem.
 *
 *   mergefs [-f] [-o allow_other,timeout=MS,...] [SOURCE] MOUNTPOINT
 *
 * Layout (mergefs(8)): /stats, /metrics, /ksm/KNOB, /PID/{stats,merge,
 * regions,regions_ksm,policy} for every process with KSM activity or the
 * library. Dynamic files use direct_io: content is built at open into the
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

static struct options {
	unsigned timeout_ms;
	unsigned auto_ms;
	unsigned max_threads;	/* libfuse's, read here too (LIMITS) */
	unsigned uid_targets;
	unsigned process_metrics;
	unsigned unmerge_margin_mib, unmerge_batch_mib;
	int show_help;
	int show_version;
} opts = { .timeout_ms = 5000, .auto_ms = 2000, .max_threads = FUSE_THREADS, .uid_targets = 256,
	   .process_metrics = 1, .unmerge_margin_mib = 64, .unmerge_batch_mib = 16 };

#define OPT(t, p) { t, offsetof(struct options, p), 1 }
#define KEY_MAX_THREADS 1
static const struct fuse_opt opt_spec[] = {
	{ "timeout=%u", offsetof(struct options, timeout_ms), 0 },
	{ "auto=%u", offsetof(struct options, auto_ms), 0 },
	{ "uid_targets=%u", offsetof(struct options, uid_targets), 0 },
	FUSE_OPT_KEY("max_threads=", KEY_MAX_THREADS),
	{ "process_metrics=%u", offsetof(struct options, process_metrics), 0 },
	{ "unmerge_margin=%u", offsetof(struct options, unmerge_margin_mib), 0 },
	{ "unmerge_batch=%u", offsetof(struct options, unmerge_batch_mib), 0 },
	OPT("-h", show_help),
	OPT("--help", show_help),
	OPT("-V", show_version),
	OPT("--version", show_version),
	FUSE_OPT_END
};

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
static unsigned race_ms;
static __thread int in_open;

/* Does /PID exist: KSM activity or the library. Fills owner uid, the
 * target (referenced, or NULL) and the ksm figures.
 *
 * The owner is that of the process we attached: status is read after the
 * target (whose pidfd names one process) and counts only if the pid still
 * names the process started when we began (same start time, target still
 * alive), so a pid reused meanwhile can never lend its new process the
 * old one's owner. */
static int pid_lookup(pid_t pid, uid_t *owner, struct target **tp, struct pksm *k)
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
	if (!t && !pksm_active(k))
		return -ENOENT;
	*owner = ps.owner;
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
	int r = pid_lookup(w->pid, &c->owner, &c->t, &c->k);
	if (r < 0)
		return r;
	*mode = mfile_mode(w->f, steer_reason(c->t) == NULL);
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
		struct pksm k;
		struct pstatus ps;
		int r = outsider(w.pid, &ps);
		if (r == 0)
			r = pid_lookup(w.pid, &owner, NULL, &k);
		else if (r > 0)
			owner = ps.owner;
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
		struct pksm k;
		struct pstatus ps;
		int r = outsider(w.pid, &ps);
		if (r == 0)
			r = pid_lookup(w.pid, &owner, NULL, &k);
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
	h->c.timeout_ms = (int)opts.timeout_ms;
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
	if (auto_start(opts.auto_ms) < 0)
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

static const struct fuse_operations ops = {
	.init = m_init,
	.getattr = m_getattr,
	.readdir = m_readdir,
	.open = m_open,
	.read = m_read,
	.write = m_write,
	.truncate = m_truncate,
	.release = m_release,
};

static void usage(const char *prog)
{
	printf("usage: %s [options] [SOURCE] MOUNTPOINT\n\n"
	       "See and steer KSM per process (mergefs(8)).\n\n"
	       "mergefs options:\n"
	       "    -o timeout=MS          wait for a target's answer (default 5000)\n"
	       "    -o auto=MS             mode auto's measuring interval (default 2000,\n"
	       "                           0: no controller)\n"
	       "    -o uid_targets=N       targets kept attached per uid (default 256)\n"
	       "    -o max_threads=N       worker threads (default %u; see LIMITS)\n"
	       "    -o process_metrics=0|1 per-process series in /metrics (default 1)\n"
	       "    -o unmerge_margin=MIB  memory an unmerge must leave free (default 64)\n"
	       "    -o unmerge_batch=MIB   address space unmerged per batch (default 16)\n"
	       "    -h, --help             this help, then libfuse's options\n"
	       "    -V, --version          version\n\n", prog, (unsigned)FUSE_THREADS);
}

/*
 * mount(8) and fstab run "mergefs SOURCE MOUNTPOINT -o ..." (through
 * mount.fuse3, SOURCE being fstab's first field): with two positional
 * arguments, drop the first. Returns the new argc.
 */
static int drop_source(int argc, char **argv)
{
	int pos[3], n = 0;
	for (int i = 1; i < argc && n < 3; i++) {
		if (!strcmp(argv[i], "-o")) {
			i++;
			continue;
		}
		if (argv[i][0] != '-')
			pos[n++] = i;
	}
	if (n != 2)
		return argc;
	for (int i = pos[0]; i + 1 < argc; i++)
		argv[i] = argv[i + 1];
	argv[argc - 1] = NULL;
	return argc - 1;
}

/* -o max_threads=N goes to libfuse; it also sets our limits. */
static int opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	(void)data;
	(void)outargs;
	if (key == KEY_MAX_THREADS)
		opts.max_threads = (unsigned)strtoul(arg + strlen("max_threads="), NULL, 10);
	return 1;	/* keep it */
}

/* The limits of LIMITS in mergefs(8), from the options and the fd limit
 * (raised to its hard limit). 0, or -1 after a message. */
static int set_limits(void)
{
	if (opts.max_threads < 8 || opts.max_threads > 100000) {
		fprintf(stderr, "mergefs: max_threads must be 8..100000\n");
		return -1;
	}
	if (opts.uid_targets < 1) {
		fprintf(stderr, "mergefs: uid_targets must be at least 1\n");
		return -1;
	}
	all_ops_max = opts.max_threads > 32 ? opts.max_threads - 16 : opts.max_threads / 2;
	struct rlimit rl;
	unsigned long nofile = 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
			nofile = (unsigned long)rl.rlim_cur;
		else
			nofile = 1UL << 20;
	}
	/* a pidfd per kept target; the rest for requests in progress (a
	 * target of their own, a /proc file, the FUSE device) */
	unsigned long reserve = 64 + 3UL * opts.max_threads;
	unsigned long all = nofile > reserve + 16 ? nofile - reserve : 16;
	if (all > TARGETS_MAX)
		all = TARGETS_MAX;
	target_limits(opts.uid_targets, (unsigned)all);
	return 0;
}

int main(int argc, char **argv)
{
	argc = drop_source(argc, argv);
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	if (fuse_opt_parse(&args, &opts, opt_spec, opt_proc) == -1)
		return 1;
	if (opts.show_version) {
		printf("mergefs %s\n", PACKAGE_VERSION);
		fuse_opt_free_args(&args);
		return 0;
	}
	if (opts.show_help) {
		usage(argv[0]);
		fuse_opt_add_arg(&args, "--help");
		args.argv[0][0] = '\0';
	}
	if (opts.timeout_ms == 0 || opts.timeout_ms > 600000) {
		fprintf(stderr, "mergefs: timeout must be 1..600000 ms\n");
		fuse_opt_free_args(&args);
		return 1;
	}
	if (opts.process_metrics > 1) {
		fprintf(stderr, "mergefs: process_metrics must be 0 or 1\n");
		fuse_opt_free_args(&args);
		return 1;
	}
	metrics_per_process = (int)opts.process_metrics;
	if (opts.unmerge_margin_mib > 1u << 20 || opts.unmerge_batch_mib == 0 ||
	    opts.unmerge_batch_mib > 1u << 20) {
		fprintf(stderr, "mergefs: unmerge_margin must be 0..1048576 MiB, "
			"unmerge_batch 1..1048576 MiB\n");
		fuse_opt_free_args(&args);
		return 1;
	}
	unmerge_margin = (long long)opts.unmerge_margin_mib << 20;
	unmerge_batch = (long long)opts.unmerge_batch_mib << 20;
	if (!opts.show_help && geteuid() != 0) {
		/* Without root it can attach no target (map_files needs
		 * CAP_SYS_ADMIN) nor read other users' ksm_stat; a half-working
		 * mount, above all with allow_other, is worse than none. */
		fprintf(stderr, "mergefs: must run as root (it maps /proc/PID/map_files)\n");
		fuse_opt_free_args(&args);
		return 1;
	}
	int run = opts.show_help ? 1 : ksmp_ksmd_run();
	if (run < 0)
		fprintf(stderr, "mergefs: warning: KSM is not available (" KSMP_KSM_SYSFS
			"/run: %s): every figure will stay 0\n", strerror(-run));
	else if (run != 1)
		fprintf(stderr, "mergefs: warning: ksmd is not running (" KSMP_KSM_SYSFS
			"/run is %d): nothing merges and the savings shown will not "
			"grow until it is started ('ksmpreload ksm on')\n", run);
	if (bus_guard_init() < 0) {
		perror("mergefs: sigaction(SIGBUS)");
		fuse_opt_free_args(&args);
		return 1;
	}
	const char *race = getenv("KSMP_MERGEFS_RACE_MS");
	if (race)
		race_ms = (unsigned)strtoul(race, NULL, 10) % 60000;
	if (set_limits() < 0) {
		fuse_opt_free_args(&args);
		return 1;
	}
	/* libfuse 3.14 complains about its own max_idle_threads default:
	 * give one that a user's own -o max_idle_threads overrides. Its
	 * max_threads (since 3.12; configure asks for 3.14) defaults to 10,
	 * which a user's blocked writes would fill: ours is FUSE_THREADS,
	 * and a user's own -o max_threads, coming later, wins. */
	fuse_opt_insert_arg(&args, 1, "-omax_idle_threads=10");
	char mt[48];
	snprintf(mt, sizeof(mt), "-omax_threads=%u", (unsigned)FUSE_THREADS);
	fuse_opt_insert_arg(&args, 1, mt);
	int r = fuse_main(args.argc, args.argv, &ops, NULL);
	fuse_opt_free_args(&args);
	return r ? 1 : 0;	/* libfuse's 1..7 all mean "did not run" */
}
