/*
 * procsel.c - choosing processes by name (as pgrep does) or by cgroup /
 * systemd unit, for `ksmpreload estimate`.
 *
 * A NAME matches a process whose command name (/proc/PID/comm, at most 15
 * bytes) or executable basename starts with NAME: "python3" finds
 * python3.11, as `pgrep python3` does (pgrep takes a regular expression
 * anywhere in the name; a prefix is what people mean by a program name).
 * A cgroup is a directory of the cgroup v2 hierarchy (absolute, or
 * relative to /sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid host); its processes and those of every cgroup
 * below it are chosen. A systemd unit is found as the cgroup directory of
 * that name (".service" is added when the name has no unit suffix).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "ksmp_util.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

/* The cgroup v2 hierarchy: /sys/fs/cgroup, or its "unified" directory on
 * a host with the hybrid v1/v2 layout. */
static const char *cgroup_root(void)
{
	return access(CGROUP_ROOT "/cgroup.procs", F_OK) != 0 &&
		access(CGROUP_ROOT "/unified/cgroup.procs", F_OK) == 0 ?
		CGROUP_ROOT "/unified" : CGROUP_ROOT;
}

bool ksmp_name_matches(const char *name, const char *comm, const char *exe_base)
{
	size_t n = strlen(name);
	if (!n)
		return false;
	if (comm && *comm) {
		size_t c = strlen(comm);
		/* the kernel keeps 15 bytes of the name: a longer NAME
		 * matches a comm that is its truncation */
		if (!strncmp(comm, name, n < c ? n : c) && (n <= c || c == 15))
			return true;
	}
	return exe_base && !strncmp(exe_base, name, n);
}

/* Append the pids of dir/cgroup.procs and of every cgroup below it. */
static int collect(const char *dir, int depth, pid_t **pids, size_t *n, size_t *cap)
{
	char path[PATH_MAX];
	if (depth > 32 || (size_t)snprintf(path, sizeof path, "%s/cgroup.procs", dir) >= sizeof path)
		return -ENAMETOOLONG;
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	long v;
	while (fscanf(f, "%ld", &v) == 1) {
		if (ksmp_grow(pids, cap, *n + 1, sizeof(**pids), 64) < 0) {
			fclose(f);
			return -ENOMEM;
		}
		(*pids)[(*n)++] = (pid_t)v;
	}
	fclose(f);
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *e;
	int ret = 0;
	while ((e = readdir(d)) && ret != -ENOMEM) {
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < sizeof path) {
			int r = collect(path, depth + 1, pids, n, cap);
			if (r == -ENOMEM)
				ret = r;
		}
	}
	closedir(d);
	return ret;
}

int ksmp_cgroup_pids(const char *cgroup, pid_t **pids, size_t *n)
{
	char dir[PATH_MAX];
	size_t cap = 0;
	*pids = NULL;
	*n = 0;
	const char *root = cgroup_root();
	if (!strncmp(cgroup, CGROUP_ROOT "/", sizeof CGROUP_ROOT))
		snprintf(dir, sizeof dir, "%s", cgroup);
	else if ((size_t)snprintf(dir, sizeof dir, "%s/%s", root,
				  cgroup + (*cgroup == '/')) >= sizeof dir)
		return -ENAMETOOLONG;
	struct stat st;
	if (stat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return collect(dir, 0, pids, n, &cap);
}

/* Depth-first search for a directory named unit below dir. */
static bool find_dir(const char *dir, const char *unit, int depth, char *out, size_t size)
{
	DIR *d = opendir(dir);
	if (!d || depth > 32) {
		if (d)
			closedir(d);
		return false;
	}
	struct dirent *e;
	bool found = false;
	char path[PATH_MAX];
	while (!found && (e = readdir(d))) {
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path)
			continue;
		if (!strcmp(e->d_name, unit))
			found = (size_t)snprintf(out, size, "%s", path) < size;
		else
			found = find_dir(path, unit, depth + 1, out, size);
	}
	closedir(d);
	return found;
}

int ksmp_unit_cgroup(const char *unit, char *out, size_t size)
{
	static const char *const suffixes[] = {
		".service", ".scope", ".slice", ".socket", ".mount", ".swap",
	};
	char name[NAME_MAX + 1];
	bool has = false;
	for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
		size_t l = strlen(unit), s = strlen(suffixes[i]);
		has |= l > s && !strcmp(unit + l - s, suffixes[i]);
	}
	if (!*unit || strchr(unit, '/') ||
	    (size_t)snprintf(name, sizeof name, "%s%s", unit, has ? "" : ".service") >= sizeof name)
		return -EINVAL;
	return find_dir(cgroup_root(), name, 0, out, size) ? 0 : -ENOENT;
}
