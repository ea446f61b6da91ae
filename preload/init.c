/*
 * init.c - the library constructor: read the environment (getenv does not
 * allocate), choose the policy (ksmp_policy_select, into a static buffer),
 * publish the state block, start the engine and the control agent.
 *
 * Environment (as secure_getenv reads it: ignored in setuid programs):
 *   KSMP_POLICY      policy file, whatever its program line says
 *   KSMP_POLICY_DIR  directory searched for NAME.policy files
 *   KSMP_LOG         none | error | info | debug; overrides the policy
 *   KSMP_STRICT      1: a policy with errors ends the program (exit 127)
 *   KSMP_PROFILE     1: record every region's calling PC and object, even
 *                    when no rule has caller= (ksmpreload profile)
 *
 * A privileged process (secure execution or euid 0) refuses policy files
 * and directories that others can change (see ksmp_policy_select_flags).
 *
 * A policy that cannot be read or has errors never breaks the program: one
 * line on stderr (the first problem, as file:line: message, and how many
 * more), then the program runs unmerged. Nothing else is written unless
 * the log level asks for it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "builtin_image.h"
#include "control.h"
#include "lib.h"
#include "sys.h"

static char policy_buf[KSMP_POLICY_MAX_FILE + 1] KSMP_BIG;
static struct ksmp_policy strict_probe KSMP_BIG;
/* the policy a file gave (or the default parsed in a cross build) */
static struct ksmp_policy policy_store KSMP_BIG;
const struct ksmp_policy *ksmp_pol = &policy_store;
bool ksmp_profile;

struct diag {
	char first[512];
	unsigned n;
};

static void diag_cb(void *ctx, const char *file, unsigned line, const char *msg)
{
	struct diag *d = ctx;
	if (d->n++)
		return;
	if (file && line)
		ksmp_fmt(d->first, sizeof(d->first), "%s:%u: %s", file, line, msg);
	else if (file)
		ksmp_fmt(d->first, sizeof(d->first), "%s: %s", file, msg);
	else
		ksmp_fmt(d->first, sizeof(d->first), "%s", msg);
}

static void quiet_cb(void *ctx, const char *file, unsigned line, const char *msg)
{
	(void)ctx;
	(void)file;
	(void)line;
	(void)msg;
}

static int parse_level(const char *s)
{
	static const char *const names[] = { "none", "error", "info", "debug" };
	if (!s || !*s)
		return -1;
	for (int i = 0; i < 4; i++)
		if (!strcmp(s, names[i]))
			return i;
	if (s[0] >= '0' && s[0] <= '3' && !s[1])
		return s[0] - '0';
	return -1;
}

/*
 * The library's variables, each as secure_getenv gives it: the first
 * definition in the environment, none at all in secure execution (the
 * kernel's AT_SECURE). One pass over the environment for all of them,
 * which every program's start makes.
 */
enum { ENV_POLICY, ENV_DIR, ENV_LOG, ENV_STRICT, ENV_PROFILE, ENV_N };

static void read_env(const char *v[ENV_N])
{
	static const char names[ENV_N][12] = {
		[ENV_POLICY] = "POLICY", [ENV_DIR] = "POLICY_DIR",
		[ENV_LOG] = "LOG", [ENV_STRICT] = "STRICT",
		[ENV_PROFILE] = "PROFILE",
	};
	for (int i = 0; i < ENV_N; i++)
		v[i] = NULL;
	if (getauxval(AT_SECURE))
		return;
	for (char **e = environ; e && *e; e++) {
		const char *s = *e;
		if (s[0] != 'K' || s[1] != 'S' || s[2] != 'M' || s[3] != 'P' ||
		    s[4] != '_')
			continue;
		s += 5;
		for (int i = 0; i < ENV_N; i++) {
			size_t n = 0;
			while (names[i][n] && s[n] == names[i][n])
				n++;
			if (!names[i][n] && s[n] == '=') {
				if (!v[i])
					v[i] = s + n + 1;
				break;
			}
		}
	}
}

static void say(const char *text)
{
	if (ksmp_loglevel < KSMP_LOG_ERROR)
		return;
	char line[700];
	size_t n = ksmp_fmt(line, sizeof(line) - 1, "ksmpreload: %s", text);
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	ssize_t r = write(2, line, n);
	(void)r;
}

static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = 0;
	for (; src && src[n] && n + 1 < size; n++)
		dst[n] = src[n];
	dst[n] = '\0';
}

/*
 * Does this process run with credentials other than its invoker's?
 * Secure execution (set-user-ID, set-group-ID, file capabilities: the
 * loader's AT_SECURE), or real, effective and saved ids that differ. Such
 * a process must not let its invoker choose its policy: argv[0] is the
 * invoker's word (exec -a python3 ...), so only the executable counts.
 */
static bool creds_differ(void)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (getauxval(AT_SECURE))
		return true;
	if (ksmp_sys_getresuid(&ru, &eu, &su) != 0 ||
	    ksmp_sys_getresgid(&rg, &eg, &sg) != 0)
		return true;
	return ru != eu || ru != su || rg != eg || rg != sg;
}

/* The built-in default's text as the build formatted it, into the
 * (private) block: state.c, just before it makes the block when first
 * needed; until then nobody reads it. */
void ksmp_state_builtin_text(struct ksmp_state *st)
{
	size_t n = ksmp_builtin_image_text_len;
	size_t c = n < sizeof(st->policy_text) ? n : sizeof(st->policy_text) - 1;
	memcpy(st->policy_text, ksmp_builtin_image_text, c);
	st->policy_text[c] = '\0';
	st->policy_text_len = (uint32_t)c;
}

/*
 * Before fork: note whether the child may walk the loaded objects
 * (caller.c), then snapshot the state block, last, as close to fork as
 * we can. Neither allocates, waits or takes a lock. What the prepare
 * handler took is this thread's (fork_snap): two threads may fork at
 * once, and only a child whose forking thread ran it uses it; the parent
 * handler gives it back. A fork from a signal handler that interrupted
 * this thread's fork after its snapshot (fork_nest) uses that one.
 */
static bool fork_ready;		/* the constructor got this far */
#define FORK_NOT_PREPARED (-100)
static KSMP_TLS int fork_snap = FORK_NOT_PREPARED;
static KSMP_TLS unsigned fork_nest;

static void before_fork(void)
{
	if (!__atomic_load_n(&fork_ready, __ATOMIC_ACQUIRE))
		return;		/* a fork from a constructor run before ours */
	if (fork_snap != FORK_NOT_PREPARED) {
		fork_nest++;
		return;
	}
	int saved = errno;
	ksmp_loader_fork_prepare();
	int snap = ksmp_state_fork_prepare();
	fork_snap = snap;	/* once whole */
	errno = saved;
}

static void parent_after_fork(void)
{
	if (fork_snap == FORK_NOT_PREPARED)
		return;
	if (fork_nest) {
		fork_nest--;
		return;
	}
	/* this thread's slot first: a fork from a signal handler between
	 * the two must take a buffer of its own, not count as nested in a
	 * snapshot another thread may be overwriting already */
	int snap = fork_snap;
	fork_snap = FORK_NOT_PREPARED;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	ksmp_state_fork_release(snap);
}

/* In a forked child, in this order: loader walks, the engine and caller
 * caches (the threads that held their locks are gone), the state block
 * (a block of its own), the region table, what a dlclose under way at the
 * fork unloaded (its thread is gone: it never tells us), then the control
 * agent on the new block. Also in a child the handlers did not see, at
 * its first use of the block (ksmp_state_orphan), without a snapshot. */
void ksmp_child_reset(int snap, bool prepared)
{
	/* a signal handler of the program that maps or allocates meanwhile
	 * goes straight to the real calls, as during the constructor */
	int saved = errno;
	ksmp_busy++;
	ksmp_state_child_begin();
	bool closing = ksmp_loader_fork_child(prepared);
	ksmp_engine_after_fork();
	ksmp_caller_after_fork();
	ksmp_data_after_fork();
	bool shared = ksmp_state_after_fork(snap);
	ksmp_regions_after_fork();
	if (closing)	/* as dlclose would have (thread.c): the child cannot walk */
		ksmp_after_unload();
	if (shared && ksmp_pol->control)
		ksmp_control_after_fork(ksmp_st);
	ksmp_state_child_end();
	ksmp_busy--;
	errno = saved;
}

/* Only in a child whose forking thread ran before_fork; any other child
 * (its fork began before the constructor got this far) is reset at its
 * first use of the block, if the block is not mapped there. */
static void after_fork(void)
{
	int snap = fork_snap;
	if (snap == FORK_NOT_PREPARED)
		return;
	fork_snap = FORK_NOT_PREPARED;
	fork_nest = 0;
	ksmp_child_reset(snap, true);
}

/*
 * Our fork handlers come before everyone else's. glibc runs the child
 * handlers in the order they were registered (prepare handlers in the
 * reverse order), and libraries whose constructors run before ours (the
 * program's own, those preloaded after us) may register theirs first: a
 * child handler of theirs that maps or allocates would then find the
 * parent's state block still in ksmp_st (not mapped in the child:
 * MADV_DONTFORK) and locks held by threads that do not exist in the child.
 * pthread_atfork (in libc_nonshared, linked into each caller) registers
 * through __register_atfork: whoever calls it first, ours go in first.
 * The handlers do nothing until the constructor got to where it used to
 * register them (fork_ready).
 */
extern void *__dso_handle __attribute__((weak, visibility("hidden")));
static int handlers_in;		/* 0, 1: being registered, 2: registered */

static void register_ours(void)
{
	int zero = 0;
	if (__atomic_compare_exchange_n(&handlers_in, &zero, 1, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		ksmp_need_real();
		int (*f)(void (*)(void), void (*)(void), void (*)(void), void *) =
			ksmp_real.register_atfork;
		if (f)
			f(before_fork, parent_after_fork, after_fork,
			  &__dso_handle ? __dso_handle : NULL);
		/* not found yet (a lookup under way): at the next call */
		__atomic_store_n(&handlers_in, f ? 2 : 0, __ATOMIC_RELEASE);
		return;
	}
	while (__atomic_load_n(&handlers_in, __ATOMIC_ACQUIRE) == 1)
		sched_yield();	/* another thread registers ours first */
}

int __register_atfork(void (*prepare)(void), void (*parent)(void),
		      void (*child)(void), void *dso);

KSMP_EXPORT int __register_atfork(void (*prepare)(void), void (*parent)(void),
				  void (*child)(void), void *dso)
{
	int saved = errno;
	register_ours();
	errno = saved;
	return ksmp_real.register_atfork ?
	       ksmp_real.register_atfork(prepare, parent, child, dso) : ENOMEM;
}

#ifdef KSMP_ATFORK_COMPAT
/*
 * glibc's compat pthread_atfork (a program linked against a glibc where
 * libc itself defined it, or one that asks for that version) registers
 * inside libc, where no interposer sees it: the program's handlers went
 * in before ours, and its child handler found the parent's state block.
 * Defined here under that version (preload/atfork.map), so that such a
 * reference binds here; unversioned lookups (dlsym) still find nothing,
 * as without the library. Never unregistered, as libc's (its own DSO).
 */
int ksmp_compat_atfork(void (*prepare)(void), void (*parent)(void),
		       void (*child)(void));
__asm__(".symver ksmp_compat_atfork,pthread_atfork@" KSMP_ATFORK_COMPAT);

KSMP_EXPORT int ksmp_compat_atfork(void (*prepare)(void), void (*parent)(void),
				   void (*child)(void))
{
	return __register_atfork(prepare, parent, child, NULL);
}
#endif

__attribute__((constructor))
static void ksmp_init(int argc, char **argv, char **envp)
{
	(void)envp;
	int saved = errno;
	ksmp_busy++;
	ksmp_need_real();
	/* the built-in default as the build parsed it: nothing to parse
	 * (NULL in a cross build: parsed here) */
	ksmp_policy_default_image = ksmp_builtin_image;
	const char *env[ENV_N];
	read_env(env);
	const char *env_policy = env[ENV_POLICY];
	const char *env_dir = env[ENV_DIR];
	int env_level = parse_level(env[ENV_LOG]);
	const char *env_strict = env[ENV_STRICT];
	const char *env_profile = env[ENV_PROFILE];
	ksmp_profile = env_profile && env_profile[0] == '1' && !env_profile[1];
	if (env_policy && !*env_policy)
		env_policy = NULL;
	if (env_dir && !*env_dir)
		env_dir = NULL;
	ksmp_loglevel = env_level >= 0 ? env_level : KSMP_LOG_ERROR;

	ksmp_state_fill_identity();
	struct ksmp_state *st = ksmp_st;
	bool secure = creds_differ();
	const char *argv0 = argc > 0 && argv && !secure ? argv[0] : NULL;
	/* A privileged process refuses policy files that others can change. */
	unsigned flags = secure || ksmp_sys_geteuid() == 0 ? KSMP_SELECT_PRIVILEGED : 0;
	/* ... and one in secure execution keeps the heap out of KSM. */
	if (secure)
		flags |= KSMP_SELECT_SECURE | KSMP_SELECT_SECURE_EXEC;
	/* the executable's path only if a program line asks for it */
	flags |= KSMP_SELECT_SELF_EXE;
	struct diag d = { .n = 0 };
	/* the built-in default: its image, not a copy (builtin_image.h) */
	if (ksmp_builtin_image)
		flags |= KSMP_SELECT_BUILTIN_IMAGE;
	int r = ksmp_policy_select_flags(&policy_store, env_policy, env_dir,
					 NULL, argv0, flags, policy_buf,
					 sizeof(policy_buf), diag_cb, &d);
	bool builtin = r == KSMP_POLICY_BUILTIN;
	if (builtin) {
		ksmp_pol = ksmp_builtin_image;
		r = 0;
	}
	if (r != 0) {
		bool strict = env_strict && !strcmp(env_strict, "1");
		if (!strict && env_policy && r > 0 &&
		    ksmp_policy_load(&strict_probe, env_policy, policy_buf,
				     sizeof(policy_buf), quiet_cb, NULL) >= 0)
			strict = strict_probe.strict;
		char msg[640];
		if (!d.n)
			ksmp_fmt(d.first, sizeof(d.first), "%s: cannot use policy (error %d)",
				 env_policy ? env_policy : "policy", r < 0 ? -r : r);
		if (d.n > 1)
			ksmp_fmt(msg, sizeof(msg), "%s (and %u more problems); %s",
				 d.first, d.n - 1,
				 strict ? "strict mode: exiting" : "running without merging");
		else
			ksmp_fmt(msg, sizeof(msg), "%s; %s", d.first,
				 strict ? "strict mode: exiting" : "running without merging");
		say(msg);
		if (strict)
			_exit(127);
		ksmp_state_set_flag(KSMP_STF_POLICY_ERROR);
		policy_store.mode = KSMP_MODE_OFF;
	} else if (env_level < 0) {
		ksmp_loglevel = ksmp_pol->loglevel;
	}

	copy_str(st->policy_name, sizeof(st->policy_name), ksmp_pol->name);
	copy_str(st->policy_source, sizeof(st->policy_source),
		 r != 0 && env_policy ? env_policy : ksmp_pol->source);
	if (!builtin) {	/* the built-in default's: when the block is made */
		size_t n = ksmp_policy_format(ksmp_pol, st->policy_text,
					      sizeof(st->policy_text));
		st->policy_text_len = (uint32_t)(n < sizeof(st->policy_text) ?
						 n : sizeof(st->policy_text) - 1);
	}

	/* Under the built-in default, the block (and the agent) when first
	 * needed: most programs that advise nothing are short-lived commands
	 * (state.c). A policy a file chose, or one with errors, is shown from
	 * start. */
	if (builtin) {
		ksmp_state_defer();
		if (ksmp_pol->control)
			ksmp_control_note_start();
	} else if (ksmp_state_publish() < 0)
		ksmp_logf(KSMP_LOG_INFO, "cannot publish state (memfd): error %d", errno);
	ksmp_self_exe_init(secure);
	register_ours();	/* if no one did before */
	__atomic_store_n(&fork_ready, true, __ATOMIC_RELEASE);
	ksmp_engine_start();
	if (builtin) {
		/* whole-process merging (inherited) needs no advice, and
		 * mergefs must be able to stop it */
		if (ksmp_st->engine == KSMP_ENGINE_PROCESS ||
		    (ksmp_st->flags & KSMP_STF_PROCESS_INHERITED))
			ksmp_state_need();
	} else {
		ksmp_state_start_agent();
	}
	ksmp_busy--;
	errno = saved;
}
