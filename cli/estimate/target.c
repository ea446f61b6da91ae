/* target.c - which processes: pids (a thread id names its process) and
 * names (command name or executable basename, by prefix). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "estimate.h"
#include "ksmp_util.h"

/* The process's command name (comm), "" when unreadable. */
void est_proc_name(int pid, char *name, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (ksmp_read_small(path, name, len) < 0)
		name[0] = 0;
	name[strcspn(name, "\n")] = 0;
}


/* Add pid once; asked marks a pid given as such (it stays marked when it
 * is also found by name). 0, or -ENOMEM. */
int est_pidlist_add(struct pidlist *l, int pid, int asked)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i] == pid) {
			l->asked[i] |= (unsigned char)!!asked;
			return 0;
		}
	size_t cv = l->cap, ca = l->cap;	/* the two arrays grow together */
	if (ksmp_grow(&l->v, &cv, l->n + 1, sizeof(*l->v), 16) < 0 ||
	    ksmp_grow(&l->asked, &ca, l->n + 1, 1, 16) < 0)
		return -ENOMEM;
	l->cap = cv;
	l->asked[l->n] = (unsigned char)!!asked;
	l->v[l->n++] = pid;
	return 0;
}

/* The thread group a pid belongs to (a thread id names its process). */
int est_tgid_of(int pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pid;
	char *s = ksmp_read_fd(fd, NULL);
	close(fd);
	int tgid = pid;
	const char *t = s ? strstr(s, "\nTgid:") : NULL;
	if (t)
		tgid = atoi(t + 6);
	free(s);
	return tgid > 0 ? tgid : pid;
}

/* Every process whose comm or executable basename starts with NAME, as
 * pgrep finds them: python3 finds python3.11 (not us, not kernel
 * threads). Returns how many were added, or -errno. */
int est_resolve_name(const char *name, struct pidlist *l)
{
	DIR *d = opendir("/proc");
	if (!d)
		return -errno;
	int found = 0, self = (int)getpid();
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		int pid = atoi(e->d_name);
		if (pid <= 0 || pid == self)
			continue;
		char path[64], exe[PATH_MAX], comm[64];
		snprintf(path, sizeof(path), "/proc/%d/exe", pid);
		ssize_t n = readlink(path, exe, sizeof(exe) - 1);
		if (n < 0 && errno == ENOENT)
			continue;	/* kernel thread or zombie: no memory */
		int match = 0;
		if (n > 0) {
			exe[n] = 0;
			char *del = strstr(exe, " (deleted)");
			if (del && del[10] == 0)
				*del = 0;
			const char *b = strrchr(exe, '/');
			match = ksmp_name_matches(name, NULL, b ? b + 1 : exe);
		}
		if (!match) {
			est_proc_name(pid, comm, sizeof(comm));
			match = ksmp_name_matches(name, comm, NULL);
		}
		if (match) {
			if (est_pidlist_add(l, pid, 0) < 0) {
				closedir(d);
				return -ENOMEM;
			}
			found++;
		}
	}
	closedir(d);
	return found;
}


/* Resident bytes (statm), to size the progress display. */
uint64_t est_resident_bytes(int pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/%d/statm", pid);
	if (ksmp_read_small(path, buf, sizeof(buf)) <= 0)
		return 0;
	unsigned long long size, rss;
	if (sscanf(buf, "%llu %llu", &size, &rss) != 2)
		return 0;
	return rss * pagesz;
}
