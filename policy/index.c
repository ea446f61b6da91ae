/*
 * index.c - the index of a policy directory: what selection would learn
 * by listing the directory and reading its files, kept in an extended
 * attribute of the directory (KSMP_INDEX_XATTR) by `ksmpreload index`.
 *
 * With a current index, selection (select.c) takes the names from it
 * instead of listing the directory, and passes over a file the index says
 * has no program line after one fstatat that shows the file unchanged,
 * instead of opening and reading it. Anything else (a file that may have
 * a program line, one changed since, a name the index could not
 * fingerprint) is read as without an index.
 *
 * The text, one record a line (names last: they may hold blanks):
 *   ksmpreload-index 1 DEV INO MTIME_S MTIME_NS       the directory
 *   f DTYPE DEV INO SIZE MTIME_S MTIME_NS CTIME_S CTIME_NS PROG NAME
 *   n DTYPE NAME                                       read as usual
 * PROG is 1 when the file may have a program line
 * (ksmp_policy_may_have_program), 0 when it has none.
 *
 * Current means: the directory's device, inode and modification time are
 * the ones recorded (a name added, removed or renamed changes the
 * modification time; setting the attribute does not). A file changed in
 * place keeps the directory's time but not its own size, times or inode:
 * each file is checked by its own fstatat. The writer records nothing
 * younger than KSMP_INDEX_SETTLE (it waits), so that a change after it
 * looked cannot leave a time it recorded unchanged.
 *
 * No allocation, no stdio: the library reads indexes in its constructor.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "policy-int.h"

/* ------------------------------------------------------------- reading */
static bool num(const char *t, size_t len, size_t *pos, uint64_t *out)
{
	uint64_t v = 0;
	size_t p = *pos, start = p;
	while (p < len && t[p] >= '0' && t[p] <= '9' && p - start < 20) {
		v = v * 10 + (uint64_t)(t[p] - '0');
		p++;
	}
	if (p == start || p >= len || (t[p] != ' ' && t[p] != '\n'))
		return false;
	*out = v;
	*pos = t[p] == ' ' ? p + 1 : p;
	return true;
}

static bool same_time(const struct timespec *ts, uint64_t s, uint64_t ns)
{
	return (uint64_t)ts->tv_sec == s && (uint64_t)ts->tv_nsec == ns;
}

size_t ksmp_index_header(const char *t, size_t len, const struct stat *dir)
{
	static const char magic[] = "ksmpreload-index 1 ";
	size_t pos = sizeof magic - 1;
	uint64_t v[4];

	if (len < pos || memcmp(t, magic, pos) != 0)
		return 0;
	for (int i = 0; i < 4; i++)
		if (!num(t, len, &pos, &v[i]))
			return 0;
	if (pos >= len || t[pos] != '\n')
		return 0;
	if (v[0] != (uint64_t)dir->st_dev || v[1] != (uint64_t)dir->st_ino ||
	    !same_time(&dir->st_mtim, v[2], v[3]))
		return 0;
	return pos + 1;
}

bool ksmp_index_record(const char *t, size_t len, size_t *pos,
		       struct ksmp_index_rec *r, bool *bad)
{
	size_t p = *pos;
	uint64_t v[9];

	*bad = false;
	if (p >= len)
		return false;
	*bad = true;
	if (len - p < 2 || (t[p] != 'f' && t[p] != 'n') || t[p + 1] != ' ')
		return false;
	r->fp = t[p] == 'f';
	p += 2;
	int n = r->fp ? 9 : 1;
	for (int i = 0; i < n; i++)
		if (!num(t, len, &p, &v[i]) || t[p - 1] != ' ')
			return false;
	if (v[0] > 255 || (r->fp && v[8] > 1))
		return false;
	/* the name ends at a newline, or at the NUL select.c put there */
	const char *nl = t + p;
	while (nl < t + len && *nl != '\n' && *nl)
		nl++;
	if (nl == t + len || nl == t + p)
		return false;
	r->dtype = (unsigned char)v[0];
	if (r->fp) {
		r->dev = v[1];
		r->ino = v[2];
		r->size = v[3];
		r->mtime_s = v[4];
		r->mtime_ns = v[5];
		r->ctime_s = v[6];
		r->ctime_ns = v[7];
		r->program = v[8] != 0;
	}
	r->name = t + p;
	r->namelen = (size_t)(nl - (t + p));
	*pos = (size_t)(nl - t) + 1;
	*bad = false;
	return true;
}

bool ksmp_index_fresh(const struct ksmp_index_rec *r, const struct stat *st)
{
	return r->fp && S_ISREG(st->st_mode) && (uint64_t)st->st_dev == r->dev &&
	       (uint64_t)st->st_ino == r->ino &&
	       (uint64_t)st->st_size == r->size &&
	       same_time(&st->st_mtim, r->mtime_s, r->mtime_ns) &&
	       same_time(&st->st_ctim, r->ctime_s, r->ctime_ns);
}

/* ------------------------------------------------------------- writing */
struct writer {
	int dfd;
	struct ksmp_sb sb;
	char *fbuf;
	size_t fsize;
	struct timespec now, wait;	/* wait: until then, something settles */
	bool retry, bad_name;
};

/* Is a (file time) younger than KSMP_INDEX_SETTLE at w->now? Then note
 * when it will not be. */
static bool young(struct writer *w, const struct timespec *a)
{
	struct timespec s = { a->tv_sec + KSMP_INDEX_SETTLE, a->tv_nsec };
	if (s.tv_sec < w->now.tv_sec ||
	    (s.tv_sec == w->now.tv_sec && s.tv_nsec < w->now.tv_nsec))
		return false;
	if (s.tv_sec > w->wait.tv_sec ||
	    (s.tv_sec == w->wait.tv_sec && s.tv_nsec > w->wait.tv_nsec))
		w->wait = s;
	w->retry = true;
	return true;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Does the file (regular, st) have no program line for sure? -1 when it
 * cannot be told (unreadable, too big: the library reads it as usual),
 * or when it changed while read (w->retry). */
static int program_bit(struct writer *w, const char *name, const struct stat *st)
{
	int fd = openat(w->dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -1;
	size_t n = 0;
	while (n < w->fsize) {
		ssize_t r = read(fd, w->fbuf + n, w->fsize - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	struct stat after;
	bool same = fstat(fd, &after) == 0 && same_file(st, &after);
	close(fd);
	if (!same) {
		w->retry = true;
		return -1;
	}
	if (n != (size_t)st->st_size || n > KSMP_POLICY_MAX_FILE)
		return -1;
	return ksmp_policy_may_have_program(w->fbuf, n);
}

static void put_u(struct ksmp_sb *sb, uint64_t v)
{
	ksmp_sb_putu(sb, v);
	ksmp_sb_putc(sb, ' ');
}

static void write_one(void *arg, const char *name, unsigned char dtype)
{
	struct writer *w = arg;
	struct stat st;
	int prog = -1;

	if (strchr(name, '\n')) {
		w->bad_name = true;
		return;
	}
	if (fstatat(w->dfd, name, &st, 0) == 0 && S_ISREG(st.st_mode) &&
	    !young(w, &st.st_ctim) && !young(w, &st.st_mtim))
		prog = program_bit(w, name, &st);
	if (prog < 0) {
		ksmp_sb_puts(&w->sb, "n ");
		put_u(&w->sb, dtype);
	} else {
		ksmp_sb_puts(&w->sb, "f ");
		put_u(&w->sb, dtype);
		put_u(&w->sb, (uint64_t)st.st_dev);
		put_u(&w->sb, (uint64_t)st.st_ino);
		put_u(&w->sb, (uint64_t)st.st_size);
		put_u(&w->sb, (uint64_t)st.st_mtim.tv_sec);
		put_u(&w->sb, (uint64_t)st.st_mtim.tv_nsec);
		put_u(&w->sb, (uint64_t)st.st_ctim.tv_sec);
		put_u(&w->sb, (uint64_t)st.st_ctim.tv_nsec);
		put_u(&w->sb, (uint64_t)prog);
	}
	ksmp_sb_puts(&w->sb, name);
	ksmp_sb_putc(&w->sb, '\n');
}

/* One look at the directory: 0 and the text in w->sb, 1 to look again
 * (something changed or is too young: w->wait), or -errno. */
static int look(struct writer *w)
{
	struct stat d0, d1;

	w->retry = w->bad_name = false;
	w->wait = (struct timespec){ 0, 0 };
	clock_gettime(CLOCK_REALTIME, &w->now);
	if (fstat(w->dfd, &d0) < 0)
		return -errno;
	ksmp_sb_puts(&w->sb, "ksmpreload-index 1 ");
	put_u(&w->sb, (uint64_t)d0.st_dev);
	put_u(&w->sb, (uint64_t)d0.st_ino);
	put_u(&w->sb, (uint64_t)d0.st_mtim.tv_sec);
	ksmp_sb_putu(&w->sb, (uint64_t)d0.st_mtim.tv_nsec);
	ksmp_sb_putc(&w->sb, '\n');
	if (young(w, &d0.st_mtim))
		return 1;
	if (!ksmp_policy_walk_dir(w->dfd, true, write_one, w))
		return -EIO;
	if (fstat(w->dfd, &d1) < 0)
		return -errno;
	if (d1.st_mtim.tv_sec != d0.st_mtim.tv_sec ||
	    d1.st_mtim.tv_nsec != d0.st_mtim.tv_nsec)
		w->retry = true;
	return w->retry ? 1 : 0;
}

int ksmp_policy_index_write(const char *dir, char *text, size_t tsize,
			    char *fbuf, size_t fsize, ksmp_diag_fn diag, void *ctx)
{
	struct writer w = { .fbuf = fbuf, .fsize = fsize };
	int r = -EAGAIN;

	w.dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w.dfd < 0) {
		r = -errno;
		ksmp_diag_errno(diag, ctx, dir, "cannot open policy directory", -r);
		return r;
	}
	for (int tries = 0; tries < 8; tries++) {
		ksmp_sb_init(&w.sb, text, tsize);
		r = look(&w);
		if (r <= 0)
			break;
		/* sleep until what was too young has settled (a change made
		 * meanwhile: at once, and again) */
		struct timespec now, d;
		clock_gettime(CLOCK_REALTIME, &now);
		d.tv_sec = w.wait.tv_sec - now.tv_sec;
		d.tv_nsec = w.wait.tv_nsec - now.tv_nsec;
		if (d.tv_nsec < 0) {
			d.tv_nsec += 1000000000L;
			d.tv_sec--;
		}
		if (d.tv_sec > KSMP_INDEX_SETTLE + 1) {
			r = -ETIMEDOUT;	/* times in the future */
			break;
		}
		if (d.tv_sec >= 0)
			while (nanosleep(&d, &d) < 0 && errno == EINTR)
				;
		r = -EAGAIN;
	}
	if (r == 0 && w.bad_name)
		r = -EINVAL;
	if (r == 0 && w.sb.len > KSMP_INDEX_MAX)
		r = -E2BIG;
	if (r == 0 && fsetxattr(w.dfd, KSMP_INDEX_XATTR, text, w.sb.len, 0) < 0)
		r = -errno;
	if (r < 0) {
		/* a stale index would be ignored anyway; an old one may be
		 * current for a while yet: none is clearer */
		fremovexattr(w.dfd, KSMP_INDEX_XATTR);
		ksmp_diag_errno(diag, ctx, dir,
		       r == -E2BIG ? "cannot index: too many files for one index" :
		       r == -EINVAL ? "cannot index: a file name holds a newline" :
		       r == -ETIMEDOUT ? "cannot index: times in the future" :
		       r == -EAGAIN ? "cannot index: the directory keeps changing" :
		       "cannot index", r == -E2BIG || r == -EINVAL ||
		       r == -ETIMEDOUT || r == -EAGAIN ? 0 : -r);
	}
	close(w.dfd);
	return r;
}

int ksmp_policy_index_remove(const char *dir)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	int r = fremovexattr(dfd, KSMP_INDEX_XATTR) < 0 && errno != ENODATA ? -errno : 0;
	close(dfd);
	return r;
}
