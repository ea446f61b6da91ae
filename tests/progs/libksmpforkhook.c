/*
 * libksmpforkhook.so - a library whose constructor registers a child fork
 * handler that maps, touches and unmaps 1 MiB and mallocs and frees 1 MiB:
 * preloaded after libksmpreload.so, its constructor runs first, so it
 * registers before the library does (tests/preload/preload_forkorder.sh).
 * The library's own child handler must still run first: until it has,
 * the child has the parent's state block in hand (not mapped in the
 * child) and locks held by the parent's other threads.
 */
#include <pthread.h>
#include <unistd.h>
#include "ksmp-childwork.h"

static void child(void)
{
	int r = ksmp_child_work();
	if (r)
		_exit(r + 4);
}

__attribute__((constructor))
static void forkhook_init(void)
{
	pthread_atfork(NULL, NULL, child);
}
