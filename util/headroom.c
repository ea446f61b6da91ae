/*
 * headroom.c - how much memory an unmerge of a process may take before
 * something runs out: the host's MemAvailable, and the room left in the
 * process's memory cgroup and in every ancestor up to the root, where the
 * copies an unmerge makes are charged:
 *
 *   cgroup v2   memory.max - memory.current   ("max": no limit)
 *   cgroup v1   memory.limit_in_bytes - memory.usage_in_bytes, and the
 *               same for memory.memsw.* when present (limits of 2^63
 *               rounded down to a page mean none)
 *
 * The smallest of these is the headroom, with the place that sets it.
 * Both hierarchies are found through /proc/self/mountinfo (a v2 mount
 * counts only when it has the memory controller) and the process's
 * /proc/PID/cgroup line for it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ksmp_util.h"

#define NO_LIMIT (LLONG_MAX / 2)	/* v1's "unlimited" is about 2^63 */

static long long read_num(const char *dir, const char *file, int *found)
{
	char path[PATH_MAX], buf[64];
	*found = 0;
	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
		return 0;
	if (ksmp_read_small(path, buf, sizeof(buf)) <= 0)
		return 0;
	*found = 1;
	if (!strncmp(buf, "max", 3))
		return LLONG_MAX;
	return strtoll(buf, NULL, 10);
}

static void consider(struct ksmp_headroom *h, long long room, const char *where)
{
	if (room < h->bytes) {
		h->bytes = room;
		snprintf(h->where, sizeof(h->where), "%s", where);
	}
}

/* limit - usage at one level, if that level has a limit. */
static void level(struct ksmp_headroom *h, const char *dir, const char *lim, const char *use)
{
	int f1, f2;
	long long l = read_num(dir, lim, &f1);
	long long u = read_num(dir, use, &f2);
	if (f1 && f2 && l < NO_LIMIT)
		consider(h, l - u, dir);
}

/* The mount point of the v1 memory hierarchy (v2 = 0) or of cgroup2 with
 * the memory controller (v2 = 1), and the mount's root within the
 * hierarchy. 0 or -ENOENT. */
static int cgroup_mount(int v2, char *mnt, size_t msz, char *root, size_t rsz)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -ENOENT;
	char line[1024];
	int r = -ENOENT;
	while (r && fgets(line, sizeof(line), f)) {
		char rt[256], mp[256], fstype[64], super[512];
		const char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %255s %255s", rt, mp) != 2 ||
		    sscanf(dash + 3, "%63s %*s %511s", fstype, super) != 2)
			continue;
		if (v2 ? strcmp(fstype, "cgroup2") : strcmp(fstype, "cgroup"))
			continue;
		if (!v2) {
			char opts[520];
			snprintf(opts, sizeof(opts), ",%s,", super);
			if (!strstr(opts, ",memory,"))
				continue;
		} else {
			char ctl[PATH_MAX], buf[512];
			snprintf(ctl, sizeof(ctl), "%s/cgroup.controllers", mp);
			if (ksmp_read_small(ctl, buf, sizeof(buf)) < 0 || !strstr(buf, "memory"))
				continue;
		}
		snprintf(mnt, msz, "%s", mp);
		snprintf(root, rsz, "%s", rt);
		r = 0;
	}
	fclose(f);
	return r;
}

/* The process's path in that hierarchy, from /proc/PID/cgroup. */
static int proc_cg_path(pid_t pid, int v2, char *out, size_t sz)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	if (ksmp_read_small(path, buf, sizeof(buf)) < 0)
		return -ENOENT;
	for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		size_t len = strcspn(l, "\n");
		char *c1 = memchr(l, ':', len);
		char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - l)) : NULL;
		if (!c2)
			continue;
		int match;
		if (v2) {
			match = c1 - l == 1 && l[0] == '0' && c2 == c1 + 1;
		} else {
			match = 0;
			for (char *p = c1 + 1; p < c2;) {
				size_t n = strcspn(p, ",:");
				match |= n == 6 && !strncmp(p, "memory", 6);
				p += n + (p[n] == ',');
			}
		}
		if (match) {
			snprintf(out, sz, "%.*s", (int)(l + len - c2 - 1), c2 + 1);
			return 0;
		}
	}
	return -ENOENT;
}

static void cgroup_levels(struct ksmp_headroom *h, pid_t pid, int v2)
{
	char mnt[256], root[256], rel[1024], dir[PATH_MAX];
	if (cgroup_mount(v2, mnt, sizeof(mnt), root, sizeof(root)) < 0 ||
	    proc_cg_path(pid, v2, rel, sizeof(rel)) < 0)
		return;
	const char *p = rel;
	size_t rl = strlen(root);
	if (strcmp(root, "/") && !strncmp(rel, root, rl))
		p = rel + rl;	/* the mount shows a subtree */
	if (snprintf(dir, sizeof(dir), "%s%s", mnt, p) >= (int)sizeof(dir))
		return;
	size_t ml = strlen(mnt);
	for (;;) {
		size_t n = strlen(dir);
		while (n > ml + 1 && dir[n - 1] == '/')
			dir[--n] = 0;
		if (v2) {
			level(h, dir, "memory.max", "memory.current");
		} else {
			level(h, dir, "memory.limit_in_bytes", "memory.usage_in_bytes");
			level(h, dir, "memory.memsw.limit_in_bytes", "memory.memsw.usage_in_bytes");
		}
		char *slash = strrchr(dir, '/');
		if (!slash || (size_t)(slash - dir) < ml)
			break;
		*slash = 0;
	}
}

long long ksmp_mem_available(void)
{
	char buf[4096];
	if (ksmp_read_small("/proc/meminfo", buf, sizeof(buf)) <= 0)
		return -1;
	char *m = strstr(buf, "MemAvailable:");
	return m ? strtoll(m + 13, NULL, 10) * 1024 : -1;
}

int ksmp_headroom_of(pid_t pid, struct ksmp_headroom *h)
{
	h->bytes = LLONG_MAX;
	h->where[0] = 0;
	long long avail = ksmp_mem_available();
	if (avail >= 0)
		consider(h, avail, "host MemAvailable");
	cgroup_levels(h, pid, 0);
	cgroup_levels(h, pid, 1);
	return h->bytes == LLONG_MAX ? -ENOENT : 0;
}

int ksmp_unmerge_fits(pid_t pid, long long need, long long margin, char *msg, size_t len)
{
	struct ksmp_headroom h;
	if (need <= 0 || ksmp_headroom_of(pid, &h) < 0 || need <= h.bytes - margin)
		return 0;
	snprintf(msg, len, "unmerging needs %lld MiB; %.120s leaves %lld MiB (margin %lld MiB)",
		 need >> 20, h.where, h.bytes >> 20, margin >> 20);
	return -ENOMEM;
}
