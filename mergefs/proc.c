/*
 * proc.c - what mergefs reads from /proc: a process's status, start
 * time, ksm_stat figures and mappings. Every reader returns 0 or -errno
 * (-ENOENT once the process is gone) and copes with a process that
 * exits or changes under it.
 *
 * Never read smaps here (it stalls the target).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mergefs.h"

int maps_each(pid_t pid, maps_fn fn, void *ctx)
{
	char path[64], buf[MAPS_LINE_MAX];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ESRCH ? -ENOENT : -errno;
	size_t have = 0, total = 0;
	int skipping = 0, r = 0;
	for (;;) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = errno == ESRCH ? -ENOENT : -errno;
			break;
		}
		if (n == 0) {
			if (have && !skipping) {
				buf[have] = 0;
				r = fn(ctx, buf, have);
			}
			break;
		}
		have += (size_t)n;
		total += (size_t)n;
		char *l = buf, *end = buf + have, *nl;
		while (!r && (nl = memchr(l, '\n', (size_t)(end - l)))) {
			*nl = 0;
			if (!skipping)
				r = fn(ctx, l, (size_t)(nl - l));
			skipping = 0;
			l = nl + 1;
		}
		if (r)
			break;
		have = (size_t)(end - l);
		memmove(buf, l, have);
		if (have == sizeof(buf) - 1) {
			skipping = 1;	/* a line longer than any real one: drop it */
			have = 0;
		}
		if (total > MAPS_BUDGET) {
			r = -E2BIG;
			break;
		}
	}
	close(fd);
	return r;
}

int proc_status(pid_t pid, struct pstatus *ps)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	ssize_t n = ksmp_read_small(path, buf, sizeof(buf));
	if (n < 0)
		return n == -EACCES ? -EACCES : -ENOENT;
	memset(ps, 0, sizeof(*ps));
	ps->tgid = -1;
	int have_uid = 0, same = 0;
	for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (!strncmp(l, "Name:\t", 6)) {
			size_t i = 0;
			/* the kernel escapes \ and newline in Name: undo it */
			for (char *p = l + 6; *p && *p != '\n' && i + 1 < sizeof(ps->name); p++) {
				if (p[0] == '\\' && (p[1] == '\\' || p[1] == 'n'))
					ps->name[i++] = *++p == 'n' ? '\n' : '\\';
				else
					ps->name[i++] = *p;
			}
			ps->name[i] = 0;
		} else if (!strncmp(l, "Tgid:", 5)) {
			ps->tgid = (pid_t)strtol(l + 5, NULL, 10);
		} else if (!strncmp(l, "Uid:", 4)) {
			/* real, effective, saved, fs */
			char *p = l + 4, *end;
			unsigned long u[4];
			int i = 0;
			for (; i < 4; i++) {
				u[i] = strtoul(p, &end, 10);
				if (end == p)
					break;
				p = end;
			}
			ps->uid = (uid_t)u[0];
			have_uid = i == 4;
			same = have_uid && u[1] == u[0] && u[2] == u[0] && u[3] == u[0];
		} else if (!strncmp(l, "SigCgt:", 7)) {
			ps->sigcgt = strtoull(l + 7, NULL, 16);
		} else if (!strncmp(l, "NSpid:", 6)) {
			char *p = l + 6, *end;
			for (;;) {
				long v = strtol(p, &end, 10);
				if (end == p)
					break;
				ps->nspid = (pid_t)v;
				p = end;
			}
		}
	}
	if (ps->tgid <= 0 || !have_uid)
		return -ENOENT;
	/* /proc/PID's files belong to root when the process is not
	 * dumpable (PR_SET_DUMPABLE 0, or it changed credentials, e.g.
	 * setuid); the directory itself keeps the euid. */
	struct stat sb;
	ps->owner = same && stat(path, &sb) == 0 && sb.st_uid == ps->uid ? ps->uid : 0;
	return 0;
}

int proc_ksm(pid_t pid, struct pksm *k)
{
	char path[64], buf[1024];
	memset(k, 0, sizeof(*k));
	snprintf(path, sizeof(path), "/proc/%d/ksm_stat", (int)pid);
	ssize_t n = ksmp_read_small(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	k->valid = 1;
	for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char *sp = strchr(l, ' ');
		if (!sp)
			continue;
		size_t kl = (size_t)(sp - l);
		if (kl && l[kl - 1] == ':')
			kl--;	/* "ksm_merge_any: no" */
		const char *v = sp + 1;
#define KEY(s) (kl == sizeof(s) - 1 && !strncmp(l, s, kl))
		if (KEY("ksm_rmap_items"))
			k->rmap_items = strtoll(v, NULL, 10);
		else if (KEY("ksm_zero_pages"))
			k->zero_pages = strtoll(v, NULL, 10);
		else if (KEY("ksm_merging_pages"))
			k->merging_pages = strtoll(v, NULL, 10);
		else if (KEY("ksm_process_profit"))
			k->process_profit = strtoll(v, NULL, 10);
		else if (KEY("ksm_merge_any"))
			k->merge_any = !strncmp(v, "yes", 3) || *v == '1';
		else if (KEY("ksm_mergeable"))
			k->mergeable = !strncmp(v, "yes", 3) || *v == '1';
#undef KEY
	}
	return 0;
}

int pksm_active(const struct pksm *k)
{
	return k->valid && (k->merge_any || k->mergeable || k->rmap_items > 0 ||
			    k->merging_pages > 0);
}

struct range_ctx {
	uint64_t want, end;
};

static int range_line(void *ctx, char *l, size_t n)
{
	(void)n;
	struct range_ctx *rc = ctx;
	char *e;
	uint64_t s = strtoull(l, &e, 16);
	if (*e != '-')
		return 0;
	uint64_t f = strtoull(e + 1, NULL, 16);
	if (s <= rc->want && rc->want < f)
		rc->want = f;
	else if (s > rc->want)
		return 1;	/* maps is sorted: a hole */
	return rc->want >= rc->end;
}

int proc_range_mapped(pid_t pid, uint64_t addr, uint64_t len)
{
	struct range_ctx rc = { addr, addr + len };
	int r = maps_each(pid, range_line, &rc);
	if (r < 0)
		return r;
	return rc.want >= rc.end;
}

/* ---------------------------------------------------------------- user namespaces */

/* The uid that uid (as we see it) is inside pid's user namespace, or -1
 * when that namespace does not map it (the kernel then shows the overflow
 * uid), or -2 when uid_map cannot be read. */
long long proc_uid_inside(pid_t pid, uid_t uid)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
	if (ksmp_read_small(path, buf, sizeof(buf)) < 0)
		return -2;
	for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		unsigned long long in, out, count;
		if (sscanf(l, "%llu %llu %llu", &in, &out, &count) != 3)
			continue;
		if (uid >= out && uid - out < count)
			return (long long)(in + (uid - out));
	}
	return -1;
}

/* Would t's agent take a command from us (preload/control.c, "sender")?
 * It sees our uid as mapped into its user namespace: 0 and its own uid
 * are taken as they are; an unmapped one (the overflow uid) only with the
 * nonce, which an agent that says KSMP_STF_NONCE checks. 0 or -EPERM. */
int steer_check(const struct target *t)
{
	struct pstatus ps;
	long long me = proc_uid_inside(t->pid, getuid());
	if (me == 0 || me == -2 || proc_status(t->pid, &ps) < 0)
		return 0;	/* allowed, or gone: the command path says which */
	if (me >= 0 && me == proc_uid_inside(t->pid, ps.uid))
		return 0;
	uint32_t flags = __atomic_load_n(&t->st->flags, __ATOMIC_ACQUIRE);
	if (me == -1 && (flags & KSMP_STF_NONCE) && sizeof(void *) >= sizeof(uint64_t))
		return 0;
	return -EPERM;
}
