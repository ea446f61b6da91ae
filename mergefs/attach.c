/*
 * attach.c - /PID/merge for a process that does not run the library:
 * writing 1 runs `ksmpreload attach --mode process --json PID`, writing 0
 * `ksmpreload detach --json PID` (cli/attach/: ptrace injection of
 * prctl(PR_SET_MEMORY_MERGE), with all its refusals), as the writer:
 *
 *   - the child takes the FUSE caller's uid, gid and supplementary groups
 *     (root stays root, with only the capabilities the calling thread has
 *     in effect: a root writer without CAP_SYS_PTRACE gets none) before
 *     it execs, so the kernel itself judges the ptrace access (uids,
 *     capabilities, dumpable, Yama) as it would for the caller running
 *     the command; the caller's LSM label and seccomp filter are not
 *     carried over; mergefs's own check (root or the owner, mergefs.c)
 *     has already been passed;
 *   - the child gets no descriptor of ours (only a pipe for its stdout
 *     and /dev/null), a fixed environment, and ATTACH_TIMEOUT_MS: then the
 *     write fails with ETIMEDOUT and the child gets SIGTERM, which it
 *     blocks while a thread of the target is stopped, so it ends only
 *     once the target has its own registers back (a SIGKILL there would
 *     leave the target running with the injected ones); a reaper thread
 *     waits for it, and kills it only after ATTACH_GRACE_MS more; until
 *     it is reaped it counts against its uid (KIDS_UID, KIDS_ALL: EBUSY);
 *   - its JSON answer gives the errno of a refusal ("error") and the
 *     message that /PID/stats shows (attach_last_*).
 *
 * The attach record (cli/attach/record.c) is mergefs's: root's directory
 * (/run/ksmpreload/attach, or KSMP_ATTACH_DIR in mergefs's environment).
 * A child running as root writes it itself; for another caller mergefs
 * writes it after a successful attach and removes it after a detach.
 */
#define FUSE_USE_VERSION 314
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "mergefs.h"

#define ATTACH_TIMEOUT_MS 5000
#define ATTACH_GRACE_MS 120000
#define MAX_GROUPS 256
#define LAST_SLOTS 64

const char *attach_program = KSMP_BINDIR "/ksmpreload";
unsigned creds_race_ms;

/* ---------------------------------------------------------------- last */
/* The last outcome per process (by pid and start time), for its stats. */
static pthread_mutex_t last_lock = PTHREAD_MUTEX_INITIALIZER;
static struct last {
	pid_t pid;
	uint64_t start;
	int on, err;
	char msg[240];
} lasts[LAST_SLOTS];		/* last_lock */

static void last_set(pid_t pid, uint64_t start, int on, int err, const char *msg)
{
	pthread_mutex_lock(&last_lock);
	struct last *l = &lasts[(unsigned)pid % LAST_SLOTS];
	l->pid = pid;
	l->start = start;
	l->on = on;
	l->err = err;
	snprintf(l->msg, sizeof(l->msg), "%s", msg);
	pthread_mutex_unlock(&last_lock);
}

int attach_last(pid_t pid, uint64_t start, int *on, int *err, char *msg, size_t len)
{
	int r = -ENOENT;
	pthread_mutex_lock(&last_lock);
	const struct last *l = &lasts[(unsigned)pid % LAST_SLOTS];
	if (l->pid == pid && l->start == start) {
		*on = l->on;
		*err = l->err;
		snprintf(msg, len, "%s", l->msg);
		r = 0;
	}
	pthread_mutex_unlock(&last_lock);
	return r;
}

/* ---------------------------------------------------------------- child */
struct creds {
	uid_t uid;
	gid_t gid;
	int caps_known;		/* cap_eff read from the caller's status */
	uint64_t cap_eff;	/* its effective capabilities (CapEff) */
	int foreign;		/* uid 0 in another user namespace than ours */
	size_t ngroups;
	gid_t groups[MAX_GROUPS];
};

/* The hexadecimal value after key (e.g. "\nCapEff:") in a status text:
 * 0 and *v, or -1 when absent. */
static int status_hex(const char *buf, const char *key, uint64_t *v)
{
	const char *s = strstr(buf, key);
	if (!s)
		return -1;
	s += strlen(key);
	char *e;
	errno = 0;
	unsigned long long x = strtoull(s, &e, 16);
	if (e == s || errno || *e != '\n')
		return -1;
	*v = x;
	return 0;
}

/* Is the thread tid the one whose request this is: inside a write call
 * now, with the fsuid and fsgid the request came with (status: its
 * /proc/TID/status, read between the start times s1 and s2)? */
static bool is_caller(pid_t tid, const char *status, uid_t uid, gid_t gid,
		      uint64_t s1, uint64_t s2)
{
	char path[64], sc[256];
	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)tid);
	long nr = ksmp_read_small(path, sc, sizeof(sc)) > 0 ? strtol(sc, NULL, 10) : -1;
	const char *u = strstr(status, "\nUid:"), *g = strstr(status, "\nGid:");
	unsigned long uv[4], gv[4];
	return s1 == s2 && u && g &&
	       sscanf(u + 5, "%lu %lu %lu %lu", &uv[0], &uv[1], &uv[2], &uv[3]) == 4 &&
	       sscanf(g + 5, "%lu %lu %lu %lu", &gv[0], &gv[1], &gv[2], &gv[3]) == 4 &&
	       uv[3] == uid && gv[3] == gid &&
	       (nr == SYS_write || nr == SYS_pwrite64 || nr == SYS_writev ||
		nr == SYS_pwritev || nr == SYS_pwritev2 || nr == SYS_sendfile ||
		nr == SYS_splice || nr == SYS_copy_file_range);
}

/* The FUSE caller's uid and gid, its effective capabilities and its
 * groups, the last two from /proc/TID/status of the calling thread
 * (capabilities are per thread): 0, or -EACCES when that read cannot be
 * trusted to be the caller's (never fewer groups instead: a status not
 * the caller's could have more).
 *
 * The caller thread is inside its write until we answer (FUSE waits out
 * a request that reached us, even past a SIGKILL), so its tid names it
 * throughout. That is checked, not assumed (is_caller): a thread not
 * visible here (pid 0: a caller outside our pid namespace), gone, with a
 * start time that changed across the read, not inside a write call, or
 * whose fsuid/fsgid differ from the request's, is denied. */
static int caller_creds(struct creds *cr)
{
	const struct fuse_context *ctx = fuse_get_context();
	char path[64], buf[4096];
	uint64_t s1, s2;
	cr->uid = ctx->uid;
	cr->gid = ctx->gid;
	cr->caps_known = 0;
	cr->foreign = 0;
	cr->ngroups = 0;
	if (creds_race_ms)
		usleep(creds_race_ms * 1000);	/* tests only (see mergefs.h) */
	snprintf(path, sizeof(path), "/proc/%d/status", (int)ctx->pid);
	if (ctx->pid <= 0 || ksmp_proc_starttime(ctx->pid, &s1) < 0 ||
	    ksmp_read_small(path, buf, sizeof(buf)) < 0 ||
	    ksmp_proc_starttime(ctx->pid, &s2) < 0 ||
	    !is_caller(ctx->pid, buf, cr->uid, cr->gid, s1, s2))
		return -EACCES;
	cr->caps_known = status_hex(buf, "\nCapEff:", &cr->cap_eff) == 0;
	/* CapEff counts in the caller's own user namespace: root of a child
	 * namespace (PrivateUsers=, unshare -U) shows every capability and
	 * holds none here. Such a caller gets none, and is limited as
	 * other users are. */
	struct stat mine, its;
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)ctx->pid);
	if (stat("/proc/self/ns/user", &mine) < 0 || stat(path, &its) < 0)
		cr->caps_known = 0;
	else if (mine.st_ino != its.st_ino || mine.st_dev != its.st_dev)
		cr->cap_eff = 0, cr->foreign = 1;
	const char *g = strstr(buf, "\nGroups:");
	if (!g)
		return -EACCES;
	g += strlen("\nGroups:");
	while (cr->ngroups < MAX_GROUPS) {
		char *e;
		unsigned long v = strtoul(g, &e, 10);
		if (e == g || (*e != ' ' && *e != '\t' && *e != '\n'))
			break;
		cr->groups[cr->ngroups++] = (gid_t)v;
		g = e;
		if (*g == '\n')
			break;
	}
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* In the child, for a caller of uid 0: only the caller's effective
 * capabilities survive the exec. Root's exec gives the new program its
 * bounding set (and inheritable set, and ambient): the bounding set
 * becomes the caller's CapEff, the other two empty. 0, or -1. */
static int take_caps(uint64_t eff)
{
	for (int c = 0; c < 64; c++) {
		if (eff >> c & 1)
			continue;
		int r = (int)syscall(SYS_prctl, PR_CAPBSET_READ, (unsigned long)c, 0ul, 0ul, 0ul);
		if (r < 0 && errno == EINVAL)
			break;	/* past the kernel's last capability */
		if (r != 0 && syscall(SYS_prctl, PR_CAPBSET_DROP, (unsigned long)c, 0ul, 0ul,
				      0ul) < 0)
			return -1;
	}
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) < 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		uint32_t keep = (uint32_t)(eff >> (32 * i));
		d[i].effective &= keep;
		d[i].permitted &= keep;
		d[i].inheritable = 0;
	}
	if (syscall(SYS_capset, &h, d) < 0)
		return -1;
	return syscall(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0ul, 0ul, 0ul) < 0 &&
	       errno != EINVAL ? -1 : 0;
}

/* In the child after fork: only system calls until exec. */
static void child(int out, const struct creds *cr, char *const argv[], char *const envp[])
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	int nul = open("/dev/null", O_RDWR);
	if (nul < 0 || dup2(nul, 0) < 0 || dup2(out, 1) < 0 || dup2(nul, 2) < 0)
		_exit(126);
	syscall(SYS_close_range, 3u, ~0u, 0u);
	if (cr->uid != 0 &&
	    (syscall(SYS_setgroups, cr->ngroups, cr->groups) < 0 ||
	     syscall(SYS_setresgid, cr->gid, cr->gid, cr->gid) < 0 ||
	     syscall(SYS_setresuid, cr->uid, cr->uid, cr->uid) < 0))
		_exit(126);
	if (cr->uid == 0 && (!cr->caps_known || take_caps(cr->cap_eff) < 0))
		_exit(126);
	execve(argv[0], argv, envp);
	_exit(127);
}

/* Read the child's stdout into out until it ends or the deadline. */
static void read_until(int fd, char *out, size_t len, uint64_t deadline)
{
	size_t n = 0;
	for (;;) {
		uint64_t t = now_ms();
		if (t >= deadline)
			break;
		struct pollfd p = { fd, POLLIN, 0 };
		int r = poll(&p, 1, (int)(deadline - t));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		char tmp[512];
		ssize_t k = read(fd, tmp, sizeof(tmp));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		size_t c = (size_t)k < len - 1 - n ? (size_t)k : len - 1 - n;
		memcpy(out + n, tmp, c);
		n += c;
	}
	out[n] = 0;
}

/* ---------------------------------------------------------------- kids */
/* Children alive, per uid other than root: a child outlives its write
 * when it is past its time (its owner may even have stopped it), so the
 * write's request slot (limits.c) does not bound them; these do, until
 * the child is reaped: at most KIDS_UID per uid and KIDS_ALL in all, more
 * get EBUSY. Root is not limited (limits.c). */
#define KIDS_UID 8
#define KIDS_ALL 64

static pthread_mutex_t kids_lock = PTHREAD_MUTEX_INITIALIZER;
static uid_t kids[KIDS_ALL];	/* kids_lock: the uid of each live child, 0 free */

/* A place for a child of uid: its index, -1 for root, or -EBUSY. */
static int kid_take(uid_t uid)
{
	if (uid == 0)
		return -1;
	int mine = 0, fresh = -EBUSY;
	pthread_mutex_lock(&kids_lock);
	for (int i = 0; i < KIDS_ALL; i++) {
		if (kids[i] == uid)
			mine++;
		else if (kids[i] == 0 && fresh < 0)
			fresh = i;
	}
	if (mine >= KIDS_UID)
		fresh = -EBUSY;
	if (fresh >= 0)
		kids[fresh] = uid;
	pthread_mutex_unlock(&kids_lock);
	return fresh;
}

static void kid_give(int slot)
{
	if (slot < 0)
		return;
	pthread_mutex_lock(&kids_lock);
	kids[slot] = 0;
	pthread_mutex_unlock(&kids_lock);
}

/* Wait for pid until deadline, looking every step_us: 1 and *st when it
 * ended, 0 when not yet, -1 when it cannot be waited for. */
static int wait_until(pid_t pid, uint64_t deadline, useconds_t step_us, int *st)
{
	for (;;) {
		pid_t r = waitpid(pid, st, WNOHANG);
		if (r == pid)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
		if (now_ms() >= deadline)
			return 0;
		usleep(step_us);
	}
}

/* SIGKILL our own unreaped child (the pid is still its, stopped or not)
 * and reap it. */
static void kill_reap(pid_t pid)
{
	int st;
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
}

struct late {
	pid_t pid;
	int slot;
};

/* A child past its time: asked to end (SIGTERM waits for the injection to
 * be undone, see the top of the file; SIGCONT in case its owner stopped
 * it), killed only after the grace; its place given back once reaped. */
static void *late_reaper(void *arg)
{
	struct late l = *(struct late *)arg;
	free(arg);
	int st;
	if (wait_until(l.pid, now_ms() + ATTACH_GRACE_MS, 50000, &st) == 0)
		kill_reap(l.pid);
	kid_give(l.slot);
	return NULL;
}

/* Wait for the child until the deadline. Its wait status, or -1 when it
 * did not end in time (then it is asked to end, and reaped later by a
 * thread; when none can be started, killed and reaped now: a FUSE worker
 * never waits out the grace). */
static int reap(pid_t pid, int slot, uint64_t deadline)
{
	int st;
	int r = wait_until(pid, deadline, 2000, &st);
	if (r != 0) {
		kid_give(slot);
		return r == 1 ? st : -1;
	}
	kill(pid, SIGTERM);
	kill(pid, SIGCONT);
	struct late *l = malloc(sizeof(*l));
	pthread_t th;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (l)
		*l = (struct late){ pid, slot };
	if (!l || pthread_create(&th, &a, late_reaper, l) != 0) {
		free(l);
		kill_reap(pid);
		kid_give(slot);
	}
	pthread_attr_destroy(&a);
	return -1;
}

/* Run the command as cr; its stdout in out. The wait status, -1 when it
 * was killed at the deadline, or -errno (-EBUSY: cr's uid has too many
 * children alive). */
static int run_as(const struct creds *cr, char *const argv[], char *out, size_t len)
{
	char dir[4000], dirvar[4100];
	char *envp[8];
	int ne = 0;
	envp[ne++] = (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	if (cr->uid == 0 && attach_record_dir(dir, sizeof(dir)) == 0) {
		snprintf(dirvar, sizeof(dirvar), "KSMP_ATTACH_DIR=%s", dir);
		envp[ne++] = dirvar;
	}
	static const char *const keep[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS" };
	char kept[3][512];
	for (int i = 0; i < 3; i++) {
		const char *v = getenv(keep[i]);
		if (v && strlen(v) < 400) {
			snprintf(kept[i], sizeof(kept[i]), "%s=%s", keep[i], v);
			envp[ne++] = kept[i];
		}
	}
	envp[ne] = NULL;
	out[0] = 0;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	/* root of another user namespace is limited as one more user */
	int slot = kid_take(cr->uid == 0 && cr->foreign ? (uid_t)-2 : cr->uid);
	if (slot == -EBUSY) {
		close(p[0]);
		close(p[1]);
		return -EBUSY;
	}
	uint64_t deadline = now_ms() + ATTACH_TIMEOUT_MS;
	pid_t pid = fork();
	if (pid == 0)
		child(p[1], cr, argv, envp);
	int e = errno;
	close(p[1]);
	if (pid < 0) {
		kid_give(slot);
		close(p[0]);
		return -e;
	}
	read_until(p[0], out, len, deadline);
	close(p[0]);
	return reap(pid, slot, deadline);
}

/* ---------------------------------------------------------------- answer */
/* The JSON string after "key": in out, unescaped enough to be read (\"
 * and \\; other escapes stay as written), or "". */
static void json_field(const char *out, const char *key, char *val, size_t len)
{
	char pat[32];
	snprintf(pat, sizeof(pat), "\"%s\": \"", key);
	const char *s = strstr(out, pat);
	size_t n = 0;
	for (s = s ? s + strlen(pat) : ""; *s && *s != '"' && n + 1 < len; s++) {
		if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
			s++;
		val[n++] = *s;
	}
	val[n] = 0;
}

/* The errno named (EBUSY, ...), or 0. */
static int errno_named(const char *name)
{
	for (int e = 1; name[0] && e < 200; e++) {
		const char *n = strerrorname_np(e);
		if (n && !strcmp(n, name))
			return e;
	}
	return 0;
}

/* The write's result from the child's wait status and answer; msg says
 * what happened. */
static int outcome(int st, const char *out, int on, char *msg, size_t len)
{
	char name[32];
	json_field(out, "message", msg, len);
	json_field(out, "error", name, sizeof(name));
	if (st == -1) {
		snprintf(msg, len, "%s did not finish within %d ms: killed",
			 on ? "attach" : "detach", ATTACH_TIMEOUT_MS);
		return -ETIMEDOUT;
	}
	if (st == -EBUSY) {
		snprintf(msg, len, "too many commands still running (%d of a uid, %d in all)",
			 KIDS_UID, KIDS_ALL);
		return st;
	}
	if (st < 0) {
		snprintf(msg, len, "cannot run %s: %s", attach_program, strerror(-st));
		return st;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		if (!msg[0])
			snprintf(msg, len, "%s", on ? "attached: prctl(PR_SET_MEMORY_MERGE, 1) done" :
				 "detached: prctl(PR_SET_MEMORY_MERGE, 0) done");
		return 0;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 126) {
		snprintf(msg, len, "cannot take the writer's credentials");
		return -EPERM;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
		snprintf(msg, len, "cannot run %s", attach_program);
		return -EIO;
	}
	int e = errno_named(name);
	if (e == EACCES)
		e = EPERM;	/* the kernel refused the writer ptrace access */
	if (!msg[0])
		snprintf(msg, len, "%s failed (%s %d)", attach_program,
			 WIFEXITED(st) ? "exit" : "signal",
			 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	return e ? -e : -EIO;
}

/* ---------------------------------------------------------------- write */
/* Unmerging everything takes a page per merged page: refuse (ENOMEM)
 * when that leaves less than -o unmerge_margin (mergefs(8)). */
static int unmerge_fits(const struct fctx *c, char *msg, size_t len)
{
	long long need = (c->k.merging_pages + c->k.zero_pages) * page_size();
	return ksmp_unmerge_fits(c->pid, need, unmerge_margin, msg, len);
}

/* What needs no child: 1 when the child must run, else 0 or -errno.
 * force: no headroom check, and 0 also undoes a merge_any that no
 * attach recorded. */
static int precheck(const struct fctx *c, int on, int force, uint64_t start,
		    char *msg, size_t len)
{
	/* a library process that target_get() could not attach: ptrace would
	 * override the library's own policy, so never that */
	int lib = library_mapped(c->pid);
	if (lib == -ENOENT)
		return -ESRCH;
	if (lib == 2) {
		snprintf(msg, len, "it runs the library, but its state block is not one "
			 "mergefs trusts: it cannot be steered here");
		return -EOPNOTSUPP;
	}
	if (lib != 0) {
		snprintf(msg, len, lib > 0 ? "it runs the library, whose state block is not "
			 "made yet: try again" : "its maps run past mergefs's budget: it may "
			 "run the library, which an attach would override");
		return -EAGAIN;
	}
	if (on) {
		if (c->k.merge_any) {
			snprintf(msg, len, "it already merges as a whole: nothing done");
			return 0;
		}
		return 1;
	}
	struct attach_record rec;
	int recorded = attach_record_load(c->pid, &rec) == 0 && rec.start == start;
	if (recorded)
		attach_record_free(&rec);
	if (!c->k.merge_any && !recorded) {
		if (!c->k.mergeable) {
			snprintf(msg, len, "it does not merge: nothing to undo");
			return 0;
		}
		snprintf(msg, len, "its merging was set up by the program itself "
			 "(madvise): only what an attach did can be undone");
		return -EOPNOTSUPP;
	}
	if (!recorded && !force) {
		snprintf(msg, len, "it merges as a whole by its own prctl (or its service's "
			 "MemoryKSM=), not by an attach: only \"0 force\" undoes that");
		return -EOPNOTSUPP;
	}
	int e = force ? 0 : unmerge_fits(c, msg, len);
	return e ? e : 1;
}

/* After a child's success: keep (or drop) the record. */
static void keep_record(pid_t pid, uint64_t start, int on)
{
	int lk = attach_record_lock();
	struct attach_record rec;
	if (!on) {
		attach_record_remove(pid);
	} else if (attach_record_load(pid, &rec) == 0 && rec.start == start && rec.process) {
		attach_record_free(&rec);	/* the child (root) wrote it */
	} else {
		if (rec.start != start)
			attach_record_free(&rec);
		rec.start = start;
		rec.process = true;
		attach_record_save(pid, &rec);
		attach_record_free(&rec);
	}
	attach_record_unlock(lk);
}

int attach_write(const struct fctx *at_open, int on, int force)
{
	char msg[240] = "", out[4096], pidarg[16], startarg[24];
	uint64_t start, after;
	struct fctx now = *at_open;	/* the figures of now, not of the open */
	const struct fctx *c = &now;
	if (proc_ksm(c->pid, &now.k) < 0)
		return -ESRCH;
	if (c->caller_tgid == c->pid)
		return -EDEADLK;	/* it would stop the writer itself */
	/* The handle names the process opened: a pid reused since, or a
	 * process no longer the writer's (it exec'd a set-user-ID program),
	 * gets nothing, not even what the precheck would tell. */
	struct pstatus ps;
	if (ksmp_proc_starttime(c->pid, &start) < 0 || start != c->start ||
	    proc_status(c->pid, &ps) < 0)
		return -ESRCH;
	if (c->caller_uid != 0 && ps.owner != c->caller_uid)
		return -EACCES;
	int r = precheck(c, on, force, start, msg, sizeof(msg));
	if (r == 1) {
		struct creds cr;
		if (caller_creds(&cr) < 0) {
			snprintf(msg, sizeof(msg), "the writer's credentials could not be "
				 "read reliably (its thread is not in the write)");
			last_set(c->pid, start, on, EACCES, msg);
			return -EACCES;
		}
		snprintf(pidarg, sizeof(pidarg), "%d", (int)c->pid);
		/* --start: the child refuses a process other than the one checked */
		snprintf(startarg, sizeof(startarg), "%llu", (unsigned long long)start);
		char *attach[] = { (char *)attach_program, (char *)"attach", (char *)"--mode",
			(char *)"process", (char *)"--start", startarg, (char *)"--json",
			pidarg, NULL };
		/* precheck() judged the headroom with our margin (or force) */
		char *detach[] = { (char *)attach_program, (char *)"detach", (char *)"--force",
			(char *)"--start", startarg, (char *)"--json", pidarg, NULL };
		int st = run_as(&cr, on ? attach : detach, out, sizeof(out));
		r = outcome(st, out, on, msg, sizeof(msg));
		if (r == -ENOENT)	/* detach found nothing it may undo */
			r = -EOPNOTSUPP;
		if (r == 0 && (ksmp_proc_starttime(c->pid, &after) < 0 || after != start)) {
			snprintf(msg, sizeof(msg), "it ended meanwhile");
			r = -ESRCH;
		}
		if (r == 0)
			keep_record(c->pid, start, on);
	}
	last_set(c->pid, start, on, -r, msg);
	return r;
}
