/*
 * ksmp-childwork.h - what a forked child does in ksmp-forkwalk and in
 * libksmpforkhook.so's child handler: map, touch and unmap 1 MiB, malloc,
 * touch and free 1 MiB. 0, or 1 when the mmap failed, 2 the malloc.
 */
#ifndef KSMP_CHILDWORK_H
#define KSMP_CHILDWORK_H
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static inline int ksmp_child_work(void)
{
	void *p = mmap(NULL, 1u << 20, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	memset(p, 1, 4096);
	munmap(p, 1u << 20);
	char *m = malloc(1u << 20);
	if (!m)
		return 2;
	m[0] = 1;
	free(m);
	return 0;
}
#endif
