/*
 * record.c - what attach did to a process, kept for detach: one small
 * text file per pid in the attach directory,
 *
 *     ksmpreload-attach 1
 *     start 123456               (the process's start time, clock ticks)
 *     process 1                  (prctl(PR_SET_MEMORY_MERGE, 1) was done)
 *     range 7f0000000000-7f0000400000     (one per madvised range)
 *
 * The start time tells a reused pid from the process that was attached.
 * Records of processes that have ended, or whose pid now names another
 * process, are dropped at each save (at most PRUNE_LOOK entries looked at
 * per save), so the directory holds about one record per live attached
 * process, whoever makes processes end (tests/attachfs/attachfs_limits.sh).
 *
 * The directory must be ours and writable by no one else (else: EPERM).
 * A record is written to a temporary name chosen at random and created
 * exclusively (O_EXCL | O_NOFOLLOW: a name planted in advance, or a
 * symbolic link, is never written through), mode 0600, then renamed over
 * the record, so a reader sees the old record or the new one, whole. A
 * change to a record (load, change, save or remove) is made under
 * attach_record_lock(), so that concurrent attaches and detaches of one
 * process do not lose each other's ranges (tests/attach/attach_record.sh).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "ksmp_util.h"

int attach_record_dir(char *out, size_t len)
{
	const char *env = getenv("KSMP_ATTACH_DIR");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;
	if (env && *env)
		n = snprintf(out, len, "%s", env);
	else if (geteuid() == 0)
		n = snprintf(out, len, "/run/ksmpreload/attach");
	else if (xdg && *xdg == '/')
		n = snprintf(out, len, "%s/ksmpreload/attach", xdg);
	else
		return -ENOENT;
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int record_path(pid_t pid, char *out, size_t len)
{
	char dir[4000];
	int err = attach_record_dir(dir, sizeof(dir));
	if (err)
		return err;
	return (size_t)snprintf(out, len, "%s/%d", dir, (int)pid) >= len ? -ENAMETOOLONG : 0;
}

/* mkdir -p, 0700 for what we create. */
static int make_dirs(const char *path)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s)
			continue;
		char c = *s;
		*s = 0;
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return -errno;
		*s = c;
		if (!c)
			return 0;
	}
}

/* The directory, opened (created first when create): 0 and *fd, or
 * -errno; -EPERM when it is not ours or others may write to it. */
static int open_dir(char *dir, size_t len, bool create, int *fd)
{
	int err = attach_record_dir(dir, len);
	if (!err && create)
		err = make_dirs(dir);
	if (err)
		return err;
	*fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0)
		return -errno;
	struct stat sb;
	if (fstat(*fd, &sb) < 0 || sb.st_uid != geteuid() || (sb.st_mode & 022)) {
		close(*fd);
		return -EPERM;
	}
	return 0;
}

int attach_record_lock(void)
{
	char dir[4000];
	for (int tries = 0; tries < 16; tries++) {
		int fd, err = open_dir(dir, sizeof(dir), true, &fd);
		if (err)
			return err;
		while ((err = flock(fd, LOCK_EX)) < 0 && errno == EINTR)
			;
		if (err < 0) {
			err = -errno;
			close(fd);
			return err;
		}
		/* a remove may have taken the directory away meanwhile (it
		 * removes it when empty): then lock the new one */
		struct stat a, b;
		if (fstat(fd, &a) == 0 && stat(dir, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino)
			return fd;
		close(fd);
	}
	return -EAGAIN;
}

void attach_record_unlock(int fd)
{
	if (fd >= 0)
		close(fd);	/* drops the flock */
}

void attach_record_free(struct attach_record *r)
{
	free(r->ranges);
	memset(r, 0, sizeof(*r));
}

int attach_record_load(pid_t pid, struct attach_record *r)
{
	char path[4096], line[128];
	memset(r, 0, sizeof(*r));
	int err = record_path(pid, path, sizeof(path));
	if (err)
		return err;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "r");
	if (!f) {
		err = fd < 0 ? -errno : -ENOMEM;
		if (fd >= 0)
			close(fd);
		return err;
	}
	int version = 0;
	size_t cap = 0;
	err = 0;
	while (!err && fgets(line, sizeof(line), f)) {
		unsigned long long a, b;
		int v;
		if (sscanf(line, "ksmpreload-attach %d", &v) == 1)
			version = v;
		else if (sscanf(line, "start %llu", &a) == 1)
			r->start = a;
		else if (sscanf(line, "process %d", &v) == 1)
			r->process = v == 1;
		else if (sscanf(line, "range %llx-%llx", &a, &b) == 2 && a < b) {
			if (ksmp_grow(&r->ranges, &cap, r->nranges + 1,
				      sizeof(*r->ranges), 16) < 0) {
				err = -ENOMEM;
				break;
			}
			r->ranges[r->nranges++] = (struct attach_range){ a, b };
		}
	}
	fclose(f);
	if (!err && (version != 1 || !r->start))
		err = -EINVAL;
	if (err)
		attach_record_free(r);
	return err;
}

#define PRUNE_LOOK 4096

/* Is the record for pid stale: its process gone (no /proc/PID), or the
 * pid another process's now (another start time)? Unsure: no. */
static bool record_stale(pid_t pid)
{
	char path[64];
	uint64_t now;
	if (ksmp_proc_starttime(pid, &now) < 0) {
		snprintf(path, sizeof(path), "/proc/%d", (int)pid);
		return access(path, F_OK) < 0 && errno == ENOENT;
	}
	struct attach_record old;
	if (attach_record_load(pid, &old) < 0)
		return false;
	bool stale = old.start != now;
	attach_record_free(&old);
	return stale;
}

/* Is name a temporary file of a save (".PID.HEX.tmp") left more than a
 * minute ago (its saver was killed before the rename)? */
static bool tmp_left(int dfd, const char *name)
{
	size_t n = strlen(name);
	struct stat st;
	return name[0] == '.' && n > 5 && !strcmp(name + n - 4, ".tmp") &&
	       fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       time(NULL) - st.st_mtime > 60;
}

/* Drop the stale records in the directory dfd, but not keep's, and the
 * temporary files of saves that were killed (called under the lock, as
 * every change is). */
static void prune(int dfd, pid_t keep)
{
	int fd = dup(dfd);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	struct dirent *e;
	for (int n = 0; n < PRUNE_LOOK && (e = readdir(d)); n++) {
		if (tmp_left(dfd, e->d_name)) {
			unlinkat(dfd, e->d_name, 0);
			continue;
		}
		char *end;
		long v = strtol(e->d_name, &end, 10);
		if (e->d_name[0] < '1' || e->d_name[0] > '9' || *end || v <= 0 ||
		    v > 0x7fffffffL || (pid_t)v == keep)
			continue;
		if (record_stale((pid_t)v))
			unlinkat(dfd, e->d_name, 0);
	}
	closedir(d);
}

int attach_record_save(pid_t pid, const struct attach_record *r)
{
	char dir[4000], name[32], tmp[64];
	int dfd;
	int err = open_dir(dir, sizeof(dir), true, &dfd);
	if (err)
		return err;
	snprintf(name, sizeof(name), "%d", (int)pid);
	int fd = -1;
	for (int i = 0; fd < 0 && i < 16; i++) {
		uint64_t rnd;
		if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd)) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			rnd = (uint64_t)ts.tv_nsec * 2654435761u ^ (uint64_t)getpid() << 32 ^ (uint64_t)i;
		}
		snprintf(tmp, sizeof(tmp), ".%d.%016llx.tmp", (int)pid, (unsigned long long)rnd);
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		err = -errno;
		close(dfd);
		return err;
	}
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlinkat(dfd, tmp, 0);
		close(dfd);
		return -ENOMEM;
	}
	fprintf(f, "ksmpreload-attach 1\nstart %llu\nprocess %d\n", r->start,
		r->process ? 1 : 0);
	for (size_t i = 0; i < r->nranges; i++)
		fprintf(f, "range %llx-%llx\n", (unsigned long long)r->ranges[i].start,
			(unsigned long long)r->ranges[i].end);
	if (fclose(f) != 0 || renameat(dfd, tmp, dfd, name) < 0) {
		err = -errno;
		unlinkat(dfd, tmp, 0);
	}
	prune(dfd, pid);
	close(dfd);
	return err;
}

/* Removes the record, and the directory when it is left empty (and, for
 * the default one, /run/ksmpreload too): nothing stays behind. */
int attach_record_remove(pid_t pid)
{
	char path[4096], dir[4000];
	int err = record_path(pid, path, sizeof(path));
	if (!err && unlink(path) < 0 && errno != ENOENT)
		err = -errno;
	if (!err && attach_record_dir(dir, sizeof(dir)) == 0 && rmdir(dir) == 0 &&
	    !strcmp(dir, "/run/ksmpreload/attach"))
		rmdir("/run/ksmpreload");
	return err;
}
