/*
 * state.c - the per-process state block mergefs reads
 * (include/ksmp_state.h): a memfd mapped MAP_SHARED then closed, marked
 * MADV_DONTFORK; a forked child builds its own from a snapshot the parent
 * took just before fork. Until the block exists (and if it cannot be
 * created, e.g. under a seccomp filter), ksmp_st points at a private
 * static block, so writers never test for NULL.
 *
 * Under the built-in default the block is made when first needed
 * (ksmp_state_defer, ksmp_state_need): before the first madvise, or
 * before the program restricts itself (prctl PR_SET_NO_NEW_PRIVS or
 * PR_SET_SECCOMP, chroot, the same through syscall(), SYS_seccomp),
 * after which the system calls that make it
 * (and the control agent's read of /proc) might kill it. A program that
 * never advises anything (most short-lived commands: LD_PRELOAD reaches
 * every child) pays for no block: making one, its pages and their
 * teardown at exit were about 35 us of each exec (issue 13).
 *
 * Never: allocate, use stdio, or take locks here (but the region table's,
 * to make the block when first needed); the counters are relaxed atomics
 * because the control signal handler and every thread update them.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <string.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include "control.h"
#include "lib.h"
#include "sys.h"

/* Page-aligned: what the start writes (the identity, the policy's name
 * and source, the executable's path: its first 700 bytes) is one page's
 * fault, not two. */
static struct ksmp_state private_state KSMP_BIG __attribute__((aligned(4096)));
struct ksmp_state *ksmp_st_ = &private_state;

/* 1 while ksmp_st_ is mapped in this process: a static 1 until the first
 * block, then a MADV_WIPEONFORK page, 0 in every child until the fork
 * handler or ksmp_state_orphan() (2 while it runs) set it again. */
static const int always_mapped = 1;
const volatile int *ksmp_st_mapped = &always_mapped;
static KSMP_TLS bool orphan_mine;	/* this thread rebuilds the child */

/* Snapshots taken by the fork prepare handler (private memory), one per
 * fork under way: glibc runs each handler with its lock released (2.36),
 * so two threads' forks overlap, and a copy into one buffer could be half
 * done in the other's child. A buffer is taken (snap_busy bit) by the
 * prepare handler and given back by the parent handler; a third fork at
 * once takes none and its child does without (KSMP_SNAP_NONE). */
#define NSNAPS 2
static struct ksmp_state fork_snaps[NSNAPS] KSMP_BIG;
static unsigned snap_busy;

static struct ksmp_state *map_block(void)
{
	int fd = memfd_create(KSMP_STATE_MEMFD_NAME, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return NULL;
	if (ftruncate(fd, sizeof(struct ksmp_state)) < 0) {
		close(fd);
		return NULL;
	}
	/* Its size can never change again: a reader that maps the block
	 * (mergefs) cannot be made to fault by a shrunk file. Best effort. */
	fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	void *p = ksmp_real.mmap(NULL, sizeof(struct ksmp_state),
				 PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, sizeof(struct ksmp_state), MADV_DONTFORK);
	return p;
}

/* start_brk, field 47 of /proc/self/stat: where exec put the program
 * break; 0 when it cannot be read. */
uint64_t ksmp_read_start_brk(void)
{
	char buf[1024];
	if (ksmp_read_small("/proc/self/stat", buf, sizeof(buf)) <= 0)
		return 0;
	char *s = strrchr(buf, ')');
	if (!s)
		return 0;
	int field = 2;
	for (; *s; s++) {
		if (*s != ' ' || ++field != 47)
			continue;
		uint64_t v = 0;
		for (char *d = s + 1; *d >= '0' && *d <= '9'; d++)
			v = v * 10 + (uint64_t)(*d - '0');
		return v;
	}
	return 0;
}

/*
 * Fill the identity (in a new process, or a forked child's own block).
 * The start time is not recorded (0): reading /proc/self/stat, the first
 * /proc access of a new process, was the dearest step of start-up, and
 * readers do not need it: they check the process's start time around
 * opening its pidfd themselves, and that the pidfd's process is still
 * alive once the block is mapped (include/ksmp_state_read.h). The pid
 * tells this block from the one a process sharing our memory (vfork,
 * clone with CLONE_VM) shows in its maps.
 */
static void fill_identity(void)
{
	struct ksmp_state *st = ksmp_st;
	st->size = sizeof(*st);
	st->version = KSMP_STATE_VERSION;
	st->pid = (int32_t)ksmp_sys_getpid();
	st->starttime = 0;
	st->uid = (uint32_t)ksmp_sys_getuid();
	/* magic last: readers check it first */
	__atomic_store_n(&st->magic, KSMP_STATE_MAGIC, __ATOMIC_RELEASE);
}

/* The executable's path, once read; its claim (0 free, 1 taken). */
static char exe_buf[sizeof(private_state.exe)];
static const char *exe_known;
static int exe_claim;

/* exe_buf (ours by the claim) is the path: into the block for readers,
 * and known from now on. */
static void exe_publish(void)
{
	memcpy(ksmp_st->exe, exe_buf, sizeof(exe_buf));
	__atomic_store_n(&exe_known, exe_buf, __ATOMIC_RELEASE);
}

/*
 * The executable's path, for naming the main program's objects (caller
 * walks, data regions) and for readers of the state block. Known from
 * start (ksmp_self_exe_init()); read here, from /proc/self/exe, only if
 * asked for before that. Never waits: while another thread (or the code
 * a signal interrupted) reads it, the path is read into tmp (size bytes)
 * instead. "" when unreadable.
 */
const char *ksmp_self_exe(char *tmp, size_t size)
{
	const char *e = __atomic_load_n(&exe_known, __ATOMIC_ACQUIRE);
	if (e)
		return e;
	int zero = 0;
	bool mine = __atomic_compare_exchange_n(&exe_claim, &zero, 1, false,
						__ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
	char *dst = mine ? exe_buf : tmp;
	size_t sz = mine ? sizeof(exe_buf) : size;
	if (sz == 0)
		return "";
	int saved = errno;
	ssize_t n = readlink("/proc/self/exe", dst, sz - 1);
	errno = saved;
	dst[n > 0 ? n : 0] = '\0';
	if (mine)
		exe_publish();
	return dst;
}

/*
 * Know the executable's path at start, never later: by then the program
 * may have entered a seccomp sandbox where the readlink kills it, or a
 * chroot without /proc (tests/preload/preload_sandbox). The path it was
 * executed by (AT_EXECFN, no system call: /proc/self/exe, the first /proc
 * access of a new process, is the dearest step of an exec) when that is
 * absolute; /proc/self/exe when it is relative (to a directory the
 * program may have left) or in a privileged process (secure: the
 * invoker chose that path, as it chooses argv[0]).
 */
void ksmp_self_exe_init(bool secure)
{
	const char *fn = secure ? NULL : (const char *)getauxval(AT_EXECFN);
	int zero = 0;
	if (fn && fn[0] == '/' &&
	    __atomic_compare_exchange_n(&exe_claim, &zero, 1, false,
					__ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
		size_t n = strnlen(fn, sizeof(exe_buf) - 1);
		memcpy(exe_buf, fn, n);
		exe_buf[n] = '\0';
		exe_publish();
		return;
	}
	char tmp[sizeof(exe_buf)];
	ksmp_self_exe(tmp, sizeof(tmp));
}

void ksmp_state_fill_identity(void)
{
	fill_identity();
}

/* Copy the parts of a block in use: the header, the policy text, the
 * used region slots. */
static void snap_copy(struct ksmp_state *dst, const struct ksmp_state *src)
{
	uint32_t n = __atomic_load_n(&src->nregions_hint, __ATOMIC_RELAXED);
	if (n > KSMP_STATE_REGIONS)
		n = KSMP_STATE_REGIONS;
	uint32_t t = src->policy_text_len;
	if (t >= KSMP_STATE_POLICY_TEXT)
		t = KSMP_STATE_POLICY_TEXT - 1;
	memcpy(dst, src, offsetof(struct ksmp_state, policy_text));
	memcpy(dst->policy_text, src->policy_text, t + 1);
	dst->nregions_hint = n;
	memcpy(dst->regions, src->regions, n * sizeof(struct ksmp_region));
}

/* The WIPEONFORK page that tells a child the block is not mapped there,
 * made with the first block. Without it (a kernel before 4.14) such a
 * child would find the parent's block gone, as before. */
static void mapped_token(void)
{
	if (ksmp_st_mapped != &always_mapped)
		return;
	int *p = ksmp_real.mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return;
	if (madvise(p, 4096, MADV_WIPEONFORK) != 0) {
		munmap(p, 4096);
		return;
	}
	*p = 1;
	__atomic_store_n(&ksmp_st_mapped, p, __ATOMIC_RELEASE);
}

int ksmp_state_publish(void)
{
	struct ksmp_state *blk = map_block();
	if (!blk)
		return -errno;
	/* carry over what was recorded before the block existed: only the
	 * parts in use, so that the rest of the block is never touched (a
	 * memfd page costs when first written; most programs use a few) */
	mapped_token();
	snap_copy(blk, ksmp_st);
	ksmp_st_ = blk;
	return 0;
}

/* The block made when first needed: 0 not waited for (made at start, or
 * made since), 1 waited for, 2 being made. */
static int pending;

/* Publish the block (the region table's lock held: no record is being
 * written into the private block meanwhile), then start the control
 * agent on it. */
static void open_block(void)
{
	ksmp_state_builtin_text(ksmp_st);	/* only the built-in default waits */
	ksmp_regions_lock();
	int r = ksmp_state_publish();
	ksmp_regions_unlock();
	if (r < 0)
		ksmp_logf(KSMP_LOG_INFO, "cannot publish state (memfd): error %d", -r);
	__atomic_store_n(&pending, 0, __ATOMIC_RELEASE);
	ksmp_state_start_agent();
}

void ksmp_state_start_agent(void)
{
	if (!ksmp_pol->control)
		return;
	int e = ksmp_control_init(ksmp_st);
	if (e < 0)
		ksmp_logf(KSMP_LOG_DEBUG, "no control agent: error %d", -e);
}

void ksmp_state_defer(void)
{
	__atomic_store_n(&pending, 1, __ATOMIC_RELEASE);
}

/*
 * Make the block now if it is waited for. Another thread making it is
 * waited for (it only makes system calls), so that no count or record
 * goes to the private block after the copy. Never called with the region
 * table's lock held: the engine advises under it only for commands, and
 * there are none before the block (and the agent) exist. Keeps errno.
 */
void ksmp_state_need(void)
{
	int one = 1;
	if (__atomic_load_n(&pending, __ATOMIC_ACQUIRE) == 0)
		return;
	/* A child sharing our memory (vfork, clone with CLONE_VM) before
	 * its exec: the block would be mapped into the parent, with an agent
	 * whose handler the parent does not have. Its parent makes it. */
	int saved = errno;
	bool other = ksmp_st->pid != (int32_t)getpid();
	errno = saved;
	if (other)
		return;
	if (!__atomic_compare_exchange_n(&pending, &one, 2, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(&pending, __ATOMIC_ACQUIRE) == 2)
			sched_yield();
		return;
	}
	ksmp_busy++;
	open_block();
	ksmp_busy--;
	errno = saved;
}

/*
 * Before the program restricts itself: no new privileges (which an
 * unprivileged seccomp filter or Landlock needs first), a seccomp filter,
 * a chroot (where /proc may be missing). The block is made first, while
 * its system calls are still allowed. Only when the library's own code is
 * not under way in this thread (a signal handler of the program that
 * interrupted it): then the block waits for the next advice.
 */
static void before_restrict(void)
{
	if (!ksmp_busy)
		ksmp_state_need();
}

/* prctl options that restrict the process (prctl() and syscall()). */
static bool restricting(long option)
{
	return option == PR_SET_NO_NEW_PRIVS || option == PR_SET_SECCOMP;
}

static void *real_prctl, *real_chroot;

/* prctl: the option and up to four unsigned long arguments, as glibc's
 * own wrapper reads them, handed to the next definition (the system call
 * itself if there is none). */
KSMP_EXPORT int prctl(int option, ...)
{
	va_list ap;
	va_start(ap, option);
	unsigned long a2 = va_arg(ap, unsigned long);
	unsigned long a3 = va_arg(ap, unsigned long);
	unsigned long a4 = va_arg(ap, unsigned long);
	unsigned long a5 = va_arg(ap, unsigned long);
	va_end(ap);
	if (restricting(option))
		before_restrict();
	int (*f)(int, ...) = (int (*)(int, ...))ksmp_real_lazy(&real_prctl, "prctl");
	if (!f)
		return (int)syscall(SYS_prctl, option, a2, a3, a4, a5);
	return f(option, a2, a3, a4, a5);
}

/*
 * syscall(3): a program may restrict itself through it, bypassing the
 * prctl wrapper: libseccomp loads its filter with syscall(SYS_seccomp),
 * and does not set no-new-privileges first when told not to (a program
 * with CAP_SYS_ADMIN need not). A filter that kills memfd_create then
 * killed the program at its first advice, where the block is made. Six
 * arguments read as glibc's own syscall does; the library's own system
 * calls come here too, and find the real function resolved at start
 * (symbols.c) before any control signal can arrive.
 */
KSMP_EXPORT long syscall(long number, ...)
{
	va_list ap;
	va_start(ap, number);
	long a1 = va_arg(ap, long), a2 = va_arg(ap, long), a3 = va_arg(ap, long);
	long a4 = va_arg(ap, long), a5 = va_arg(ap, long), a6 = va_arg(ap, long);
	va_end(ap);
	if ((number == SYS_seccomp && (a1 == SECCOMP_SET_MODE_FILTER ||
				      a1 == SECCOMP_SET_MODE_STRICT)) ||
	    (number == SYS_prctl && restricting(a1)) ||
	    number == SYS_chroot)
		before_restrict();
	long (*f)(long, ...) = ksmp_real.syscall;
	if (KSMP_UNLIKELY(!f) && !ksmp_in_dlsym())
		f = (long (*)(long, ...))ksmp_real_lazy((void **)&ksmp_real.syscall, "syscall");
	if (KSMP_UNLIKELY(!f)) {
		errno = ENOSYS;
		return -1;
	}
	return f(number, a1, a2, a3, a4, a5, a6);
}

KSMP_EXPORT int chroot(const char *path)
{
	before_restrict();
	int (*f)(const char *) = (int (*)(const char *))ksmp_real_lazy(&real_chroot, "chroot");
	if (!f)
		return (int)syscall(SYS_chroot, path);
	return f(path);
}

void ksmp_state_count_error(int err)
{
	int slot;
	switch (err) {
	case EINVAL: slot = KSMP_ERR_EINVAL; break;
	case ENOMEM: slot = KSMP_ERR_ENOMEM; break;
	case EAGAIN: slot = KSMP_ERR_EAGAIN; break;
	case EPERM: slot = KSMP_ERR_EPERM; break;
	default: slot = KSMP_ERR_OTHER; break;
	}
	__atomic_fetch_add(&ksmp_st->madvise_errors[slot], 1, __ATOMIC_RELAXED);
}

/*
 * What runs (flags, engine, mode, merge_state) is kept in the private
 * block too while the published block is in use: a child that gets no
 * snapshot (made without the fork handlers, or a third fork at once)
 * goes on with the private block, and must run as its parent did, not
 * as the private block stood when the block was published (under a
 * policy file that is before the engine started: merge_state 0, so it
 * would advise nothing).
 */
void ksmp_state_set_flag(uint32_t f)
{
	struct ksmp_state *st = ksmp_st;
	__atomic_fetch_or(&st->flags, f, __ATOMIC_RELAXED);
	if (st != &private_state)
		__atomic_fetch_or(&private_state.flags, f, __ATOMIC_RELAXED);
}

void ksmp_state_clear_flag(uint32_t f)
{
	struct ksmp_state *st = ksmp_st;
	__atomic_fetch_and(&st->flags, ~f, __ATOMIC_RELAXED);
	if (st != &private_state)
		__atomic_fetch_and(&private_state.flags, ~f, __ATOMIC_RELAXED);
}

/* After the engine wrote engine, mode or merge_state in the block. */
void ksmp_state_head_kept(void)
{
	struct ksmp_state *st = ksmp_st;
	if (st == &private_state)
		return;
	private_state.engine = __atomic_load_n(&st->engine, __ATOMIC_RELAXED);
	private_state.mode = __atomic_load_n(&st->mode, __ATOMIC_RELAXED);
	__atomic_store_n(&private_state.merge_state,
			 __atomic_load_n(&st->merge_state, __ATOMIC_ACQUIRE),
			 __ATOMIC_RELEASE);
}

/* ------------------------------------------------------------------ fork */
int ksmp_state_fork_prepare(void)
{
	if (ksmp_st == &private_state)
		return KSMP_SNAP_PRIVATE;
	for (int i = 0; i < NSNAPS; i++) {
		unsigned bit = 1u << i;
		if (__atomic_fetch_or(&snap_busy, bit, __ATOMIC_ACQUIRE) & bit)
			continue;
		snap_copy(&fork_snaps[i], ksmp_st);
		return i;
	}
	return KSMP_SNAP_NONE;
}

void ksmp_state_fork_release(int snap)
{
	if (snap >= 0)
		__atomic_fetch_and(&snap_busy, ~(1u << snap), __ATOMIC_RELEASE);
}

bool ksmp_state_after_fork(int snap)
{
	__atomic_store_n(&snap_busy, 0, __ATOMIC_RELAXED);	/* theirs are gone */
	if (ksmp_st_ == &private_state) {
		/* made when needed (a thread making it in the parent is gone),
		 * by this process: its own pid */
		int two = 2;
		__atomic_compare_exchange_n(&pending, &two, 1, false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
		fill_identity();
		return false;
	}
	__atomic_store_n(&pending, 0, __ATOMIC_RELAXED);
	/* the parent's block is not mapped here (MADV_DONTFORK); without a
	 * snapshot of it (none taken for this fork, or the block was made
	 * after the prepare handler), the private block with no records:
	 * what the child inherited is not advised as far as it knows */
	struct ksmp_state *blk = snap >= 0 ? map_block() : NULL;
	if (blk) {
		snap_copy(blk, &fork_snaps[snap]);
	} else {
		blk = &private_state;
		if (snap >= 0)
			snap_copy(blk, &fork_snaps[snap]);
		else
			blk->nregions_hint = 0;
	}
	blk->flags &= ~KSMP_STF_CONTROL;
	blk->signo = 0;
	memset(&blk->ctl, 0, sizeof(blk->ctl));
	ksmp_st_ = blk;
	fill_identity();
	if (!__atomic_load_n(&exe_known, __ATOMIC_RELAXED))
		exe_claim = 0;	/* a thread reading it in the parent is gone */
	return blk != &private_state;
}

/*
 * The first use of the block in a child the fork handlers did not see
 * (ksmp_st_ref): rebuild it as the child handler would have, without a
 * snapshot. Another thread of the child waits; the rebuilding thread's
 * own uses go through.
 */
void ksmp_state_orphan(void)
{
	volatile int *tok = (volatile int *)ksmp_st_mapped;
	int zero = 0;
	if (orphan_mine)
		return;
	if (!__atomic_compare_exchange_n((int *)tok, &zero, 2, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(tok, __ATOMIC_ACQUIRE) != 1)
			sched_yield();
		return;
	}
	ksmp_child_reset(KSMP_SNAP_NONE, false);
}

/* Around ksmp_child_reset: the block is being rebuilt by this thread
 * (the page reads 0 in every child, 2 from ksmp_state_orphan). */
void ksmp_state_child_begin(void)
{
	if (ksmp_st_mapped != &always_mapped)
		*(volatile int *)ksmp_st_mapped = 2;
	orphan_mine = true;
}

void ksmp_state_child_end(void)
{
	orphan_mine = false;
	if (ksmp_st_mapped != &always_mapped)
		__atomic_store_n((int *)ksmp_st_mapped, 1, __ATOMIC_RELEASE);
}
