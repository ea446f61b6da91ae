/*
 * thread.c - thread stacks and object unloading.
 *
 * glibc maps thread stacks with internal calls, so the only place to see
 * a new stack is the new thread itself: when the policy can select stacks,
 * pthread_create starts the thread through a trampoline that looks up its
 * own stack (pthread_getattr_np) and has it advised as a whole before
 * calling the program's start routine. Stacks the program supplies
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

#include "lib.h"

struct tramp {
	void *(*fn)(void *);
	void *arg;
	const void *ret;
};

static void *trampoline(void *p)
{
	struct tramp t = *(struct tramp *)p;
	ksmp_real.free(p);
	pthread_attr_t a;
	if (pthread_getattr_np(pthread_self(), &a) == 0) {
		void *lo = NULL;
		size_t size = 0;
		if (pthread_attr_getstack(&a, &lo, &size) == 0 && lo && size)
			ksmp_engine_stack((uintptr_t)lo, size, t.ret);
		pthread_attr_destroy(&a);
	}
	return t.fn(t.arg);
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
	int saved = errno;
	struct tramp *t = ksmp_real.malloc(sizeof(*t));
	errno = saved;
	if (!t)
		return ksmp_real.pthread_create(th, attr, fn, arg);
	t->fn = fn;
	t->arg = arg;
	t->ret = __builtin_return_address(0);
	int r = ksmp_real.pthread_create(th, attr, trampoline, t);
	if (r != 0)
		ksmp_real.free(t);
	return r;
}

KSMP_EXPORT int dlclose(void *handle)
{
	ksmp_need_real();
	if (!ksmp_real.dlclose)
		return -1;
	int r = ksmp_real.dlclose(handle);
	int saved = errno;
	ksmp_caller_invalidate();
	ksmp_data_check();	/* the data records of what was unloaded go */
	errno = saved;
	return r;
}
