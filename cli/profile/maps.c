/* maps.c - a process's mappings from /proc/PID/smaps (Rss and KSM per
 * mapping) or maps. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ksmp_util.h"
#include "profile.h"

void prof_vmas_free(struct vmas *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
	m->v = NULL;
	m->n = m->cap = 0;
}

/* Parse /proc/PID/smaps (or maps: then rss/ksm stay 0). */
int prof_read_vmas(pid_t pid, const char *file, struct vmas *m)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	char *t = ksmp_read_file(path, NULL);
	if (!t)
		return -errno;
	char *save = NULL;
	for (char *l = strtok_r(t, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		unsigned long long lo, hi, off;
		char perms[8];
		int pos = 0;
		if (sscanf(l, "%llx-%llx %7s %llx %*s %*s%n", &lo, &hi, perms, &off,
			   &pos) == 4 && pos > 0) {
			if (ksmp_grow(&m->v, &m->cap, m->n + 1, sizeof(*m->v), 256) < 0) {
				free(t);
				return -ENOMEM;
			}
			struct vma *v = &m->v[m->n++];
			memset(v, 0, sizeof(*v));
			v->lo = lo;
			v->hi = hi;
			v->off = off;
			const char *p = l + pos;
			while (*p == ' ')
				p++;
			if (*p == '/')
				v->path = strdup(p);
			continue;
		}
		if (!m->n)
			continue;
		if (!strncmp(l, "Rss:", 4))
			m->v[m->n - 1].rss_kb = strtoull(l + 4, NULL, 10);
		else if (!strncmp(l, "KSM:", 4))
			m->v[m->n - 1].ksm_kb = strtoull(l + 4, NULL, 10);
	}
	free(t);
	return 0;
}


const char *prof_base(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}
