/*
 * thread.c - thread stacks and object unloading.
 *
 * glibc maps thread stacks with internal calls, so the only place to see
 * a new stack is the new thread itself: when the policy can select stacks,
 * pthread_create starts the thread through a trampoline that looks up its
 * own stack (pthread_getattr_np) and has it advised before calling the
 * program's start routine: from its bottom up to a page below the
 * trampoline's frame, never the top of the block, where glibc keeps the
 * thread's descriptor (stack and pointer guards) and every library's
 * static TLS (libsodium's random generator state, say). Its record is
 * dropped when the thread ends (return, pthread_exit, cancellation):
 * glibc may unmap or reuse the stack with internal calls, unseen.
 * pthread_getattr_np allocates (the thread's CPU set): with the crypto
 * heap on, those calls are served from it, so that the thread gets no
 * malloc arena it would not have had. Stacks the program supplies
 * (pthread_attr_setstack) are its own memory and are left alone. When no
 * stack rule can match, pthread_create is a plain pass-through.
 *
 * dlclose invalidates the caller cache (caller.c): an address of an
 * unloaded object may later belong to another one; and it drops the data
 * records (data.c) of the objects unloaded. pthread_create is one of the
 * points where data.c looks for objects loaded since its last look.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib.h"

struct tramp {
	void *(*fn)(void *);
	void *arg;
	const void *ret;
};

KSMP_TLS bool ksmp_tramp_alloc;

/* With the crypto heap on, the trampoline's own block comes from it too:
 * a glibc free() in the new thread would set up its malloc arena. */
static struct tramp *tramp_alloc(void)
{
	int saved = errno;
	struct tramp *t = __atomic_load_n(&ksmp_heap_on, __ATOMIC_RELAXED) ?
		ksmp_heap_malloc(sizeof(*t)) : ksmp_real.malloc(sizeof(*t));
	errno = saved;
	return t;
}

static void tramp_free(struct tramp *t)
{
	int saved = errno;
	if (ksmp_heap_owns(t))
		ksmp_heap_free(t);
	else
		ksmp_real.free(t);
	errno = saved;
}

struct stack_rec {
	uintptr_t lo;
	size_t len;
};

static void stack_done(void *p)
{
	const struct stack_rec *s = p;
	if (s->len) {
		int saved = errno;
		ksmp_busy++;
		ksmp_regions_forget_kind(s->lo, s->len, KSMP_KIND_STACK);
		ksmp_busy--;
		errno = saved;
	}
}

static void *trampoline(void *p)
{
	struct tramp t = *(struct tramp *)p;
	tramp_free(p);
	uintptr_t lo = 0, hi = 0;
	pthread_attr_t a;
	ksmp_tramp_alloc = true;
	if (pthread_getattr_np(pthread_self(), &a) == 0) {
		void *s = NULL;
		size_t size = 0;
		if (pthread_attr_getstack(&a, &s, &size) == 0 && s && size) {
			lo = (uintptr_t)s;
			hi = lo + size;
		}
		pthread_attr_destroy(&a);
	}
	ksmp_tramp_alloc = false;
	uintptr_t ps = ksmp_pagesize();
	uintptr_t top = ((uintptr_t)__builtin_frame_address(0) & ~(ps - 1)) - ps;
	struct stack_rec rec = { 0, 0 };
	if (lo && top > lo && top <= hi) {
		rec.lo = lo;
		rec.len = top - lo;
		ksmp_engine_stack(rec.lo, rec.len, t.ret);
	}
	void *res;
	pthread_cleanup_push(stack_done, &rec);
	res = t.fn(t.arg);
	pthread_cleanup_pop(1);
	return res;
}

static bool user_stack(const pthread_attr_t *attr)
{
	void *lo = NULL;
	size_t size = 0;
	/* glibc keeps the stack's top; unset, getstack reports lo = 0 - size */
	return attr && pthread_attr_getstack(attr, &lo, &size) == 0 &&
	       (uintptr_t)lo + size != 0;
}

KSMP_EXPORT int pthread_create(pthread_t *th, const pthread_attr_t *attr,
			       void *(*fn)(void *), void *arg)
{
	ksmp_need_real();
	if (!ksmp_real.pthread_create)
		return ENOSYS;
	ksmp_data_check();	/* objects loaded since? (keeps errno) */
	if (!(__atomic_load_n(&ksmp_cfg.engine, __ATOMIC_RELAXED) == KSMP_ENGINE_REGIONS &&
	      ksmp_cfg.want_stack) || user_stack(attr))
		return ksmp_real.pthread_create(th, attr, fn, arg);
	struct tramp *t = tramp_alloc();
	if (!t)
		return ksmp_real.pthread_create(th, attr, fn, arg);
	t->fn = fn;
	t->arg = arg;
	t->ret = __builtin_return_address(0);
	int r = ksmp_real.pthread_create(th, attr, trampoline, t);
	if (r != 0)
		tramp_free(t);
	return r;
}

/* After objects may have been unloaded: the caller cache forgets (an
 * address may belong to another object later) and the data records of
 * what was unloaded go. */
void ksmp_after_unload(void)
{
	ksmp_caller_invalidate();
	ksmp_data_unloaded();
}

KSMP_EXPORT int dlclose(void *handle)
{
	ksmp_need_real();
	if (!ksmp_real.dlclose)
		return -1;
	ksmp_loader_closing(1);	/* a child forked meanwhile never sees the end */
	int r = ksmp_real.dlclose(handle);
	int saved = errno;
	ksmp_after_unload();
	ksmp_loader_closing(-1);
	errno = saved;
	return r;
}
