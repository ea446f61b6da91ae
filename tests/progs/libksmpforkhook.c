/*
 * libksmpforkhook.so - a library whose constructor registers a child fork
 * handler that maps, touches and unmaps 1 MiB and mallocs and frees 1 MiB:
 * preloaded after libksmpreload.so, its constructor runs first, so it
 * registers before the library does (tests/preload/preload_forkorder.sh).
 * The library's own child handler must still run first: until it has,
 * the child has the parent's state block in hand (not mapped in the
 * child) and locks held by the parent's other threads.
 *
 * Built with KSMP_FORKHOOK_COMPAT (libksmpforkhookcompat.so), it
 * registers through glibc's compat pthread_atfork (the version
 * KSMP_ATFORK_COMPAT, in libc itself, as programs linked against an old
 * glibc do), and its child handler first checks that the library's ran:
 * the child's own state block (KSMP_STATE_MEMFD_NAME) is mapped, or it
 * exits 9. Only meaningful where the parent has a block (a policy file).
 */
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include "ksmp-childwork.h"

#ifdef KSMP_FORKHOOK_COMPAT
#include "ksmp_state.h"
__asm__(".symver pthread_atfork,pthread_atfork@" KSMP_ATFORK_COMPAT);

/* Is a mapping of KSMP_STATE_MEMFD_NAME in /proc/self/maps? */
static int block_mapped(void)
{
	static char buf[65536 + 64];
	const char *name = KSMP_STATE_MEMFD_NAME;
	size_t nl = strlen(name), keep = 0;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	int found = 0;
	ssize_t n;
	while (!found && (n = read(fd, buf + keep, sizeof(buf) - 1 - keep)) > 0) {
		size_t len = keep + (size_t)n;
		buf[len] = '\0';
		found = memmem(buf, len, name, nl) != NULL;
		keep = len < nl ? len : nl;
		memmove(buf, buf + len - keep, keep);
	}
	close(fd);
	return found;
}
#endif

static void child(void)
{
#ifdef KSMP_FORKHOOK_COMPAT
	if (!block_mapped())
		_exit(9);
#endif
	int r = ksmp_child_work();
	if (r)
		_exit(r + 4);
}

__attribute__((constructor))
static void forkhook_init(void)
{
	pthread_atfork(NULL, NULL, child);
}
