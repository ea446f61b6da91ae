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
 * Files are written to a temporary name and renamed, mode 0600.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attach.h"

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
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
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
			if (r->nranges == cap) {
				cap = cap ? cap * 2 : 16;
				void *nv = realloc(r->ranges, cap * sizeof(*r->ranges));
				if (!nv) {
					err = -ENOMEM;
					break;
				}
				r->ranges = nv;
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

int attach_record_save(pid_t pid, const struct attach_record *r)
{
	char path[4096], tmp[4200], dir[4000];
	int err = attach_record_dir(dir, sizeof(dir));
	if (!err)
		err = make_dirs(dir);
	if (!err)
		err = record_path(pid, path, sizeof(path));
	if (err)
		return err;
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENOENT && make_dirs(dir) == 0)	/* a detach removed it */
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return -ENOMEM;
	}
	fprintf(f, "ksmpreload-attach 1\nstart %llu\nprocess %d\n", r->start,
		r->process ? 1 : 0);
	for (size_t i = 0; i < r->nranges; i++)
		fprintf(f, "range %llx-%llx\n", (unsigned long long)r->ranges[i].start,
			(unsigned long long)r->ranges[i].end);
	if (fclose(f) != 0 || rename(tmp, path) < 0) {
		err = -errno;
		unlink(tmp);
	}
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
