/*
 * limits.c - what one uid may hold of mergefs at a time, so that no user
 * can stall another user's (or root's) requests (mergefs(8), LIMITS):
 *
 *   - requests in progress: at most UID_OPS per uid other than root, and
 *     all such uids together at most all_ops_max, fewer than the worker
 *     threads libfuse may start (-o max_threads, mergefs.c), so that
 *     threads are always left for root and for the other uids; a request
 *     over the limit fails at once with EBUSY;
 *   - open files: at most UID_HANDLES per uid other than root (EMFILE),
 *     which bounds the rendered contents it can keep in memory.
 *
 * Root is not limited: it is trusted, and it is who must still get in.
 */
#include <errno.h>
#include <pthread.h>

#include "mergefs.h"

#define SLOTS 128

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot {
	uid_t uid;
	int ops, handles;	/* 0 and 0: free */
} slots[SLOTS];			/* lock */
static int all_ops;		/* lock */
unsigned all_ops_max = FUSE_THREADS - 16;

/* uid's slot, or a free one for it, or NULL (lock held). */
static struct slot *find_locked(uid_t uid)
{
	struct slot *fresh = NULL;
	unsigned h = (unsigned)uid % SLOTS;
	for (unsigned i = 0; i < SLOTS; i++) {
		struct slot *s = &slots[(h + i) % SLOTS];
		int used = s->ops || s->handles;
		if (used && s->uid == uid)
			return s;
		if (!used && !fresh)
			fresh = s;
	}
	if (fresh)
		fresh->uid = uid;
	return fresh;
}

/* Take (delta 1) or give back (delta -1) one of uid's requests (ops) or
 * open files; a take past the limits fails with err. */
static int change(uid_t uid, int handles, int delta, int err)
{
	if (uid == 0)
		return 0;
	int r = delta > 0 ? err : 0;
	pthread_mutex_lock(&lock);
	struct slot *s = find_locked(uid);
	int *n = s ? (handles ? &s->handles : &s->ops) : NULL;
	if (n && delta < 0 && *n > 0) {
		--*n;
		all_ops -= !handles;
	} else if (n && delta > 0 &&
		   (handles ? *n < UID_HANDLES : *n < UID_OPS && all_ops < (int)all_ops_max)) {
		++*n;
		all_ops += !handles;
		r = 0;
	}
	pthread_mutex_unlock(&lock);
	return r;
}

int uid_enter(uid_t uid)
{
	return change(uid, 0, 1, -EBUSY);
}

void uid_leave(uid_t uid)
{
	change(uid, 0, -1, 0);
}

int uid_handle_add(uid_t uid)
{
	return change(uid, 1, 1, -EMFILE);
}

void uid_handle_del(uid_t uid)
{
	change(uid, 1, -1, 0);
}
