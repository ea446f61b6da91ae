/*
 * files.c - the file table of mergefs: every file's name, mode, renderer
 * and writer, the KSM knobs under ksm/, and the parsing of writes.
 *
 * To add a file: write its renderer (render.c) and, if it takes
 * commands, its writer here, then add one row to host_files[] or
 * pid_files[] and a paragraph to mergefs(8). Listings, getattr, access
 * checks and dispatch in mergefs.c follow the table.
 *
 * Writers get one whole command, already checked by mergefs.c to be
 * short and printable; they return 0 or -errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mergefs.h"

/* ---------------------------------------------------------------- knobs */

/* The scanner's knobs (util/ksm_knobs.c: those before the counters), in
 * that order; only those present on this kernel are shown. */
int knob_count(void)
{
	int n = 0;
	while ((size_t)n < ksmp_nknobs && ksmp_knobs[n].type != KSMP_KNOB_COUNTER)
		n++;
	return n;
}

const char *knob_name(int i)
{
	return ksmp_knobs[i].name;
}

int knob_index(const char *name)
{
	for (int i = 0; i < knob_count(); i++)
		if (!strcmp(ksmp_knobs[i].name, name))
			return i;
	return -1;
}

void knob_path(int i, char *buf, size_t sz)
{
	snprintf(buf, sz, KSM_SYS "%s", ksmp_knobs[i].name);
}

int knob_present(int i)
{
	char p[128];
	knob_path(i, p, sizeof(p));
	return access(p, F_OK) == 0;
}

static int write_knob(const struct fctx *c, const char *s, size_t n)
{
	char p[128];
	knob_path(c->knob, p, sizeof(p));
	int fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t w = write(fd, s, n);
	int e = w < 0 ? -errno : 0;
	close(fd);
	return e;
}

/* ---------------------------------------------------------------- commands */

static int parse_u64(const char *s, uint64_t *v, const char **end)
{
	char *e;
	if (*s == '-' || *s == '+' || *s == ' ' || !*s)
		return -EINVAL;
	if (s[0] == '0' && s[1] >= '0' && s[1] <= '9')
		return -EINVAL;	/* not octal: decimal or 0x only (mergefs(8)) */
	errno = 0;
	unsigned long long x = strtoull(s, &e, 0);
	if (e == s || errno)
		return -EINVAL;
	*v = x;
	*end = e;
	return 0;
}

static int do_command(const struct fctx *c, uint32_t cmd, uint64_t addr, uint64_t len)
{
	if (!c->t)
		return -EACCES;
	if (c->caller_tgid == c->pid)
		return -EDEADLK;	/* the target cannot answer while it waits on us */
	return target_command(c->t, cmd, addr, len, c->caller_uid, c->timeout_ms);
}

/* An unmerge: with the headroom checks and batches of unmerge.c. */
static int do_unmerge(const struct fctx *c, uint32_t cmd, uint64_t addr, uint64_t len,
		      int force)
{
	if (!c->t)
		return -EACCES;
	if (c->caller_tgid == c->pid)
		return -EDEADLK;
	return unmerge_checked(c, cmd, addr, len, force);
}

/* Without the library: by ptrace, as `ksmpreload attach` (attach.c). */
static int write_merge(const struct fctx *c, const char *s, size_t n)
{
	(void)n;
	if (!strcmp(s, "0") || !strcmp(s, "0 force"))
		return c->t ? do_unmerge(c, KSMP_CMD_UNMERGE, 0, 0, s[1] != 0) :
			attach_write(c, 0, s[1] != 0);
	if (!strcmp(s, "1"))
		return c->t ? do_command(c, KSMP_CMD_MERGE, 0, 0) : attach_write(c, 1, 0);
	return -EINVAL;
}

static int write_regions(const struct fctx *c, const char *s, size_t n)
{
	(void)n;
	uint32_t cmd;
	if (!strncmp(s, "merge ", 6)) {
		cmd = KSMP_CMD_RANGE_MERGE;
		s += 6;
	} else if (!strncmp(s, "unmerge ", 8)) {
		cmd = KSMP_CMD_RANGE_UNMERGE;
		s += 8;
	} else {
		return -EINVAL;
	}
	uint64_t addr, len;
	const char *e;
	if (parse_u64(s, &addr, &e) < 0 || *e != ' ')
		return -EINVAL;
	if (parse_u64(e + 1, &len, &e) < 0)
		return -EINVAL;
	int force = cmd == KSMP_CMD_RANGE_UNMERGE && !strcmp(e, " force");
	if (*e && !force)
		return -EINVAL;
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
	if (len == 0 || addr % pg || len % pg || addr + len < addr)
		return -EINVAL;
	int m = proc_range_mapped(c->pid, addr, len);
	if (m < 0)
		return m == -EACCES ? m : -ENOENT;
	if (!m)
		return -EINVAL;
	if (cmd == KSMP_CMD_RANGE_UNMERGE)
		return do_unmerge(c, cmd, addr, len, force);
	return do_command(c, cmd, addr, len);
}

/* ---------------------------------------------------------------- table */

const struct mfile host_files[] = {
	{ "stats", 0444, render_host_stats, NULL, 0 },
	{ "metrics", 0444, render_metrics, NULL, 0 },
	{ "cgroups", 0444, render_cgroups, NULL, 0 },
	{ NULL, 0, NULL, NULL, 0 },
};

const struct mfile pid_files[] = {
	{ "stats", 0400, render_stats, NULL, 0 },
	{ "merge", 0400, render_merge, write_merge, 1 },
	{ "regions", 0400, render_regions, write_regions, 0 },
	{ "regions_ksm", 0400, render_regions_ksm, NULL, 0 },
	{ "policy", 0400, render_policy, NULL, 0 },
	{ NULL, 0, NULL, NULL, 0 },
};

/* Knobs are root's: 0644 once the writer adds S_IWUSR. */
const struct mfile knob_file = { "knob", 0444, render_knob, write_knob, 0 };

mode_t mfile_mode(const struct mfile *f, int steer)
{
	return S_IFREG | f->mode | (f->write && steer ? S_IWUSR : 0);
}

int mfile_may(mode_t mode, uid_t owner, uid_t uid, int want)
{
	unsigned bits = uid == 0 || uid == owner ? (mode >> 6) & 7 : mode & 7;
	return (bits & (unsigned)want) == (unsigned)want;
}

const struct mfile *mfile_find(const struct mfile *dir, const char *name)
{
	for (const struct mfile *f = dir; f->name; f++)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}
