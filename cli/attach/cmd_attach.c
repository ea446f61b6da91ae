/*
 * cmd_attach.c - `ksmpreload attach` and `ksmpreload detach`: make running
 * processes that do not have the library merge (or stop merging) by having
 * one of their threads execute prctl(PR_SET_MEMORY_MERGE) or
 * madvise(MADV_[UN]MERGEABLE) itself, injected by ptrace (inject.c).
 *
 *   ksmpreload attach [-p POLICY|NAME] [--mode process|regions] [--json] PID|NAME...
 *   ksmpreload detach [--json] PID|NAME...
 *
 * A process is refused (exit 1, nothing touched) when it is traced, a
 * zombie, stopped, a kernel thread, unreachable, or when its seccomp
 * filter would not allow the call. Exit 0 when every process was done,
 * 1 otherwise, 2 on usage errors. A process found by NAME that exits
 * before or while it is reached is reported and skipped without failing
 * the run (the processes found are a snapshot, as pgrep's); a PID given
 * as such that is gone fails it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "cmd.h"
#include "inject.h"
#include "ksmp_util.h"

#define PR_SET_MEMORY_MERGE_ 67
#define MADV_MERGEABLE_ 12
#define MADV_UNMERGEABLE_ 13
#define RETRIES 5

struct call {
	long nr;
	uint64_t args[6];
	long ret;
};

struct outcome {
	bool ok;
	bool done;		/* something was changed in the target */
	bool broke;		/* failed midway rather than refused */
	bool skipped;		/* found by name, and exited before it was done */
	const char *mode;	/* "process", "regions", "off" */
	char policy[KSMP_POLICY_NAME_MAX];
	size_t ranges, failed;
	uint64_t bytes;
	uint64_t stop_ns;
	int err;		/* the errno of a failure (the "error" of --json) */
	char msg[512];
};

static const char *prog(const struct attach_opts *o)
{
	return o->detach ? "ksmpreload detach" : "ksmpreload attach";
}

/* Refusals that need no ptrace: say why and return the errno (EPERM,
 * EDEADLK, ESRCH, ENOEXEC, EBUSY), or 0. */
static int refused(const struct attach_proc *ap, struct outcome *out)
{
	int err = EBUSY;
	if (ap->kthread) {
		snprintf(out->msg, sizeof(out->msg), "it is a kernel thread");
		err = EPERM;
	} else if (ap->pid == getpid()) {
		snprintf(out->msg, sizeof(out->msg), "it is this process");
		err = EDEADLK;
	} else if (ap->state == 'Z' || ap->state == 'X') {
		snprintf(out->msg, sizeof(out->msg), "it is a zombie");
		err = ESRCH;
	} else if (ap->i386) {
		/* refused before any thread is stopped: a stop could cut a
		 * write short, and the injection runs x86_64 calls only */
		snprintf(out->msg, sizeof(out->msg), "it is a 32-bit (i386) "
			 "program: attach injects x86_64 system calls only");
		err = ENOEXEC;
	} else if (ap->tracer || ap->state == 't') {
		snprintf(out->msg, sizeof(out->msg), "it is already traced (by pid %d)",
			 (int)ap->tracer);
	} else if (ap->state == 'T') {
		snprintf(out->msg, sizeof(out->msg), "it is stopped (state T): "
			 "attaching would not run it, continue it first");
	} else {
		return 0;
	}
	return err;
}

/* Has the process ended (or is it ending)? */
static bool gone(const struct attach_proc *ap)
{
	struct attach_proc now;
	return attach_proc_read(ap->pid, &now) < 0 || now.start != ap->start ||
		now.state == 'Z' || now.state == 'X';
}

/* A thread to stop that is not in a write (attach_pick_thread): waits
 * up to 2 s (KSMP_TEST_ATTACH_WRITE_WAIT_MS for the tests) while every
 * thread is in one, then refuses with EBUSY. */
static int wait_for_thread(struct attach_proc *at, struct outcome *out)
{
	const char *v = getenv("KSMP_TEST_ATTACH_WRITE_WAIT_MS");
	long wait_ms = v && *v ? strtol(v, NULL, 10) : 2000;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (attach_ended(at)) {
			snprintf(out->msg, sizeof(out->msg), "it ended while a thread "
				 "was awaited");
			return -ESRCH;
		}
		int err = attach_pick_thread(at);
		clock_gettime(CLOCK_MONOTONIC, &t);
		long waited = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (err != -EBUSY || waited >= wait_ms) {
			if (err == -EBUSY)
				snprintf(out->msg, sizeof(out->msg), "every thread is "
					 "in a write to a pipe or socket (a stop would "
					 "cut it short): try again");
			return err;
		}
		struct timespec ts = { 0, 5000000 };
		nanosleep(&ts, NULL);
	}
}

/* Run calls in the process, retrying when a signal got in the way (the
 * signal is delivered each time). Fills out; returns 0 or -errno. */
static int run_calls(const struct attach_proc *ap, struct call *calls, size_t n,
		     struct outcome *out)
{
	uint64_t sysaddr;
	int err = ksmp_inject_find_syscall(ap->pid, &sysaddr);
	if (err == -EACCES || err == -EPERM) {
		attach_why_denied(ap, out->msg, sizeof(out->msg));
		return err;
	}
	if (err == -ENOEXEC && attach_exe_changed(ap)) {
		/* an exec under way: the new address space has no vdso yet */
		snprintf(out->msg, sizeof(out->msg), "it exec'd since it was read: "
			 "nothing done");
		return -ESRCH;
	}
	if (err) {
		snprintf(out->msg, sizeof(out->msg), "no system call instruction "
			 "found in its vdso (%s)", strerror(-err));
		return err;
	}
	size_t done = 0;
	struct attach_proc at = *ap;
	for (int attempt = 0; attempt < RETRIES; attempt++) {
		err = wait_for_thread(&at, out);
		if (err)
			return err;
		struct ksmp_inject in;
		err = ksmp_inject_begin(&in, at.tid, sysaddr);
		if (err == -EPERM || err == -EACCES) {
			if (strstr(in.err, "SEIZE"))
				attach_why_denied(ap, out->msg, sizeof(out->msg));
			else
				snprintf(out->msg, sizeof(out->msg), "%s", in.err);
			return err;
		}
		if (err) {
			snprintf(out->msg, sizeof(out->msg), "%s", in.err);
			return err;
		}
		/* the wait may have been long: is it still the process read? */
		err = attach_same(&at, at.tid, &sysaddr, out->msg, sizeof(out->msg));
		bool other = err != 0;	/* a refusal: nothing was done */
		/* the stop cut a write short (the thread entered it after it
		 * was picked): finish it, or its program may lose the rest */
		if (!err) {
			int f = ksmp_inject_finish_write(&in);
			if (f < 0)
				err = f;
		}
		for (size_t i = done; i < n && !err; i++) {
			int a = ksmp_inject_allowed(&in, calls[i].nr, calls[i].args);
			if (a != 1) {
				snprintf(out->msg, sizeof(out->msg), "%s", in.err);
				err = a < 0 ? a : -EPERM;
			}
		}
		while (!err && done < n) {
			err = ksmp_inject_syscall(&in, calls[done].nr, calls[done].args,
						  &calls[done].ret);
			done += !err;
		}
		int e2 = ksmp_inject_end(&in);
		if (err && err != -EINTR && !out->msg[0])
			/* ESRCH: killed, maybe not yet a zombie */
			snprintf(out->msg, sizeof(out->msg), "%s", err == -ESRCH || gone(ap) ?
				 "it exited during the injection" : in.err);
		out->broke = err && err != -EINTR && err != -EPERM && !other;
		out->stop_ns += in.stop_ns;
		out->done |= done > 0;
		if (err == -EINTR)
			continue;
		if (!err && e2) {
			snprintf(out->msg, sizeof(out->msg), "letting it go: %s", strerror(-e2));
			err = e2;
		}
		return err;
	}
	snprintf(out->msg, sizeof(out->msg), "signals kept interrupting the "
		 "injection (%d tries)", RETRIES);
	return -EINTR;
}

static void policy_diag(void *ctx, const char *file, unsigned line, const char *msg)
{
	(void)ctx;
	if (line)
		fprintf(stderr, "ksmpreload: %s:%u: %s\n", file ? file : "?", line, msg);
	else
		fprintf(stderr, "ksmpreload: %s: %s\n", file ? file : "policy", msg);
}

/* The policy for this process: -p, else selected as the library does. */
static int choose_policy(const struct attach_opts *o, const struct attach_proc *ap,
			 struct ksmp_policy *pol, struct outcome *out)
{
	char *buf = malloc(KSMP_POLICY_MAX_FILE + 1);
	if (!buf)
		return -ENOMEM;
	int r;
	if (o->policy) {
		char path[4096];
		r = ksmp_find_policy(o->policy, path, sizeof(path));
		if (r == 0)
			r = ksmp_policy_load(pol, path, buf, KSMP_POLICY_MAX_FILE + 1,
					     policy_diag, NULL);
		else
			r = -ENOENT;
	} else {
		/* When no file names the program: the secure default, not
		 * the built-in one. From outside, an allocation made by a
		 * crypto library cannot be told from others (no crypto heap,
		 * no caller=), so the heap and arenas stay out. */
		const char *dir = getenv("KSMP_POLICY_DIR");
		r = ksmp_policy_select_flags(pol, NULL, dir && *dir ? dir : NULL,
					     ap->exe[0] ? ap->exe : NULL,
					     ap->argv0[0] ? ap->argv0 : NULL, KSMP_SELECT_SECURE,
					     buf, KSMP_POLICY_MAX_FILE + 1, policy_diag, NULL);
	}
	free(buf);
	if (r != 0)
		snprintf(out->msg, sizeof(out->msg), "policy %s is not valid (see "
			 "ksmpreload check)", pol->source[0] ? pol->source : o->policy);
	snprintf(out->policy, sizeof(out->policy), "%s", pol->name);
	return r ? -EINVAL : 0;
}

bool attach_program_matches(const struct attach_opts *o, pid_t pid)
{
	struct attach_proc ap;
	struct ksmp_policy pol;
	struct outcome out = { 0 };
	if (attach_proc_read(pid, &ap) < 0 || ap.kthread || !ap.exe[0] ||
	    choose_policy(o, &ap, &pol, &out) < 0)
		return false;
	/* the built-in default has no program line: it matches nothing */
	return ksmp_policy_matches_program(&pol, ap.exe, ap.argv0[0] ? ap.argv0 : NULL);
}

static void note_caller_rules(const struct attach_opts *o, const struct ksmp_policy *pol)
{
	unsigned n = 0;
	for (unsigned i = 0; i < pol->nrules; i++)
		n += pol->rules[i].ncallers > 0;
	if (n)
		fprintf(stderr, "%s: policy %s: %u rule%s with caller= cannot be "
			"judged from outside a process: skipped\n", prog(o),
			pol->name, n, n == 1 ? "" : "s");
}

static int attach_one(const struct attach_opts *o, const struct attach_proc *ap,
		      struct outcome *out)
{
	struct ksmp_policy pol;
	int err = choose_policy(o, ap, &pol, out);
	if (err)
		return err;
	int mode = o->mode >= 0 ? o->mode : pol.mode;
	out->mode = ksmp_mode_name((enum ksmp_mode)mode);
	if (mode == KSMP_MODE_OFF) {
		snprintf(out->msg, sizeof(out->msg), "policy %s has mode off: "
			 "nothing done", pol.name);
		return 0;
	}
	struct call *calls = NULL;
	struct attach_range *rg = NULL;
	size_t n = 1;
	if (mode == KSMP_MODE_PROCESS) {
		calls = calloc(1, sizeof(*calls));
		if (!calls)
			return -ENOMEM;
		calls[0] = (struct call){ SYS_prctl, { PR_SET_MEMORY_MERGE_, 1 }, 0 };
	} else {
		if (pol.has_caller_rules && o->mode < 0)
			note_caller_rules(o, &pol);
		err = attach_select(ap->pid, &pol, &rg, &n, &out->bytes);
		calls = err ? NULL : calloc(n ? n : 1, sizeof(*calls));
		if (!calls) {
			free(rg);
			snprintf(out->msg, sizeof(out->msg), "reading its maps: %s",
				 strerror(err ? -err : ENOMEM));
			return err ? err : -ENOMEM;
		}
		for (size_t i = 0; i < n; i++)
			calls[i] = (struct call){ SYS_madvise, { rg[i].start,
				rg[i].end - rg[i].start, MADV_MERGEABLE_ }, 0 };
		out->ranges = n;
	}
	err = n ? run_calls(ap, calls, n, out) : 0;
	struct attach_record rec = { 0 };
	int lk = attach_record_lock();	/* -errno: the save below says why */
	if (attach_record_load(ap->pid, &rec) < 0 || rec.start != ap->start) {
		attach_record_free(&rec);
		rec.start = ap->start;
	}
	for (size_t i = 0; !err && i < n; i++) {
		if (calls[i].ret < 0) {
			out->failed++;
			if (mode == KSMP_MODE_PROCESS)
				snprintf(out->msg, sizeof(out->msg), "prctl(PR_SET_MEMORY_MERGE) "
					 "failed in the process: %s", strerror((int)-calls[i].ret));
		}
	}
	if (!err && !(mode == KSMP_MODE_PROCESS && out->failed)) {
		if (mode == KSMP_MODE_PROCESS) {
			rec.process = true;
		} else {
			struct attach_range *nr = realloc(rec.ranges,
				(rec.nranges + n + 1) * sizeof(*nr));
			if (nr) {
				rec.ranges = nr;
				for (size_t i = 0; i < n; i++)
					if (calls[i].ret == 0)
						rec.ranges[rec.nranges++] = rg[i];
			}
		}
		int e = attach_record_save(ap->pid, &rec);
		if (e)
			fprintf(stderr, "%s: %d: cannot keep a record for detach (%s); "
				"detach will not know what was done\n", prog(o),
				(int)ap->pid, strerror(-e));
	}
	attach_record_unlock(lk);
	attach_record_free(&rec);
	free(calls);
	free(rg);
	if (!err && mode == KSMP_MODE_PROCESS && out->failed)
		err = -EIO;
	return err;
}

/* After a detach: take what it undid out of the record, under the lock
 * (an attach may have added to it meanwhile); remove it when empty. */
static void forget_undone(const struct attach_proc *ap, const struct attach_record *done)
{
	struct attach_record cur;
	int lk = attach_record_lock();
	if (attach_record_load(ap->pid, &cur) == 0 && cur.start == ap->start) {
		size_t k = 0;
		for (size_t i = 0; i < cur.nranges; i++) {
			bool undone = false;
			for (size_t j = 0; j < done->nranges && !undone; j++)
				undone = cur.ranges[i].start == done->ranges[j].start &&
					 cur.ranges[i].end == done->ranges[j].end;
			if (!undone)
				cur.ranges[k++] = cur.ranges[i];
		}
		cur.nranges = k;
		cur.process = cur.process && !done->process;
		if (cur.process || cur.nranges)
			attach_record_save(ap->pid, &cur);
		else
			attach_record_remove(ap->pid);
		attach_record_free(&cur);
	}
	attach_record_unlock(lk);
}

static int detach_one(const struct attach_opts *o, const struct attach_proc *ap,
		      struct outcome *out)
{
	struct attach_record rec;
	int lk = attach_record_lock();
	int err = attach_record_load(ap->pid, &rec);
	if (!err && rec.start != ap->start) {
		attach_record_free(&rec);
		attach_record_remove(ap->pid);	/* a reused pid's stale record */
		err = -ENOENT;
	}
	attach_record_unlock(lk);
	if (err) {
		if (attach_ksm_stat(ap->pid, "ksm_merge_any") != 1) {
			snprintf(out->msg, sizeof(out->msg), "no record of an attach "
				 "and it does not merge as a whole: nothing to undo");
			return -ENOENT;
		}
		memset(&rec, 0, sizeof(rec));
		rec.process = true;	/* merging as a whole: prctl 0 undoes it */
	}
	/* Every merged page of the process gets its own copy again (the most
	 * it can take: the record's ranges may hold fewer of them). */
	long merging = attach_ksm_stat(ap->pid, "ksm_merging_pages");
	long zero = attach_ksm_stat(ap->pid, "ksm_zero_pages");
	long long need = ((merging > 0 ? merging : 0) + (zero > 0 ? zero : 0)) *
			 sysconf(_SC_PAGESIZE);
	if (!o->force && (err = ksmp_unmerge_fits(ap->pid, need, o->margin, out->msg,
						  sizeof(out->msg))) < 0) {
		attach_record_free(&rec);
		return err;	/* refused: nothing done, its savings stay */
	}
	size_t n = rec.process ? 1 : rec.nranges;
	struct call *calls = calloc(n ? n : 1, sizeof(*calls));
	if (!calls) {
		attach_record_free(&rec);
		return -ENOMEM;
	}
	out->mode = rec.process ? "process" : "regions";
	if (rec.process)
		calls[0] = (struct call){ SYS_prctl, { PR_SET_MEMORY_MERGE_, 0 }, 0 };
	for (size_t i = 0; !rec.process && i < n; i++) {
		calls[i] = (struct call){ SYS_madvise, { rec.ranges[i].start,
			rec.ranges[i].end - rec.ranges[i].start, MADV_UNMERGEABLE_ }, 0 };
		out->bytes += rec.ranges[i].end - rec.ranges[i].start;
	}
	out->ranges = rec.process ? 0 : n;
	err = n ? run_calls(ap, calls, n, out) : 0;
	for (size_t i = 0; !err && i < n; i++) {
		/* ENOMEM: part of the range is no longer mapped (the rest was done) */
		if (calls[i].ret < 0 && calls[i].ret != -ENOMEM) {
			out->failed++;
			snprintf(out->msg, sizeof(out->msg), "%s failed in the process: %s",
				 rec.process ? "prctl(PR_SET_MEMORY_MERGE, 0)" :
				 "madvise(MADV_UNMERGEABLE)", strerror((int)-calls[i].ret));
		}
	}
	if (!err && !out->failed)
		forget_undone(ap, &rec);
	free(calls);
	attach_record_free(&rec);
	return err ? err : out->failed ? -EIO : 0;
}

static void report(struct attach_opts *o, const struct attach_proc *ap, const struct outcome *out)
{
	double us = (double)out->stop_ns / 1000.0;
	if (o->json) {
		printf("%s\n  {\"pid\": %d, \"comm\": ", o->nout++ ? "," : "", (int)ap->pid);
		ksmp_json_str(stdout, ap->comm);
		printf(", \"ok\": %s, \"changed\": %s", out->ok ? "true" : "false",
		       out->done ? "true" : "false");
		if (out->mode)
			printf(", \"mode\": \"%s\"", out->mode);
		if (out->policy[0]) {
			printf(", \"policy\": ");
			ksmp_json_str(stdout, out->policy);
		}
		printf(", \"ranges\": %zu, \"failed_ranges\": %zu, \"bytes\": %llu, "
		       "\"stop_us\": %.1f", out->ranges, out->failed,
		       (unsigned long long)out->bytes, us);
		if (!out->ok && out->err && strerrorname_np(out->err))
			printf(", \"error\": \"%s\"", strerrorname_np(out->err));
		if (out->skipped)
			printf(", \"skipped\": true");
		if (out->msg[0]) {
			printf(", \"message\": ");
			ksmp_json_str(stdout, out->msg);
		}
		printf("}");
		return;
	}
	if (out->skipped) {	/* no name when it had gone before it was read */
		fprintf(stderr, "%s: %d%s%s%s: %s, skipped\n", prog(o), (int)ap->pid,
			ap->comm[0] ? " (" : "", ap->comm, ap->comm[0] ? ")" : "",
			out->msg);
		return;
	}
	if (!out->ok) {
		fprintf(stderr, "%s: %d (%s): %s%s\n", prog(o), (int)ap->pid, ap->comm,
			out->done || out->broke ? "" : "refused: ", out->msg);
		return;
	}
	printf("%d %s: ", (int)ap->pid, ap->comm);
	if (out->msg[0] && !out->done)
		printf("%s", out->msg);
	else if (!strcmp(out->mode, "process"))
		printf("process mode: prctl(PR_SET_MEMORY_MERGE, %d) done",
		       o->detach ? 0 : 1);
	else
		printf("regions mode: madvise(%s) on %zu range%s, %.1f MiB",
		       o->detach ? "MADV_UNMERGEABLE" : "MADV_MERGEABLE", out->ranges,
		       out->ranges == 1 ? "" : "s", (double)out->bytes / 1048576.0);
	if (out->policy[0])
		printf("; policy %s", out->policy);
	if (out->failed)
		printf("; %zu range%s failed", out->failed, out->failed == 1 ? "" : "s");
	printf("; stopped %.0f us\n", us);
}

/* Did the process attach_proc_read() saw exec (still alive, same start
 * time), rather than end or give its pid away? */
static bool exec_since(const struct attach_proc *ap)
{
	uint64_t now;
	return ap->start && ksmp_proc_starttime(ap->pid, &now) == 0 && now == ap->start &&
	       !gone(ap);
}

/* One try; *again when the process exec'd while it was read (as in
 * `prog & ksmpreload attach $!`, where $! is still the shell that is
 * about to exec prog) and nothing was done: it is read again. */
static int attach_try(struct attach_opts *o, pid_t pid, bool found, bool last, bool *again)
{
	struct attach_proc ap;
	struct outcome out = { 0 };
	int err = attach_proc_read(pid, &ap);
	const char *went = NULL;	/* when it exited, if it did */
	bool raced = false;		/* ESRCH from a look after the read */
	if (err) {
		memset(&ap, 0, sizeof(ap));
		ap.pid = pid;
		snprintf(out.msg, sizeof(out.msg), "%s", err == -ENOENT ?
			 "no such process" : strerror(-err));
		if (err == -ENOENT) {
			err = -ESRCH;
			went = "before it was reached";
		}
	} else if (o->have_start && ap.start != o->start) {
		snprintf(out.msg, sizeof(out.msg), "it started at tick %llu, not %llu: "
			 "another process", ap.start, o->start);
		err = -ESRCH;
	} else if ((err = -refused(&ap, &out)) == 0 && (err = attach_hold(&ap)) < 0) {
		snprintf(out.msg, sizeof(out.msg), "%s", err == -ESRCH ? "it ended or "
			 "exec'd while it was read" : strerror(-err));
		went = "before it was reached";
		raced = err == -ESRCH;
	} else if (err == 0) {
		err = o->detach ? detach_one(o, &ap, &out) : attach_one(o, &ap, &out);
		attach_release(&ap);
		raced = err == -ESRCH;
		if (err && gone(&ap) && (err != -ENOENT || found)) {
			err = -ESRCH;	/* it ended meanwhile, whatever the step */
			went = o->detach ? "during the detach" : "during the attach";
		}
	} else if (err == -ESRCH) {
		went = "before it was reached";		/* a zombie by now */
	}
	if (!last && raced && !out.done && exec_since(&ap)) {
		*again = true;
		return 0;
	}
	out.ok = err == 0;
	out.err = -err;
	if (went && found) {
		out.skipped = true;
		snprintf(out.msg, sizeof(out.msg), "it exited %s", went);
		err = 0;
	}
	report(o, &ap, &out);
	return err;
}

int attach_do_one(struct attach_opts *o, pid_t pid, bool found)
{
	for (int tries = 1;; tries++) {
		bool again = false;
		int err = attach_try(o, pid, found, tries == 3, &again);
		if (!again)
			return err;
	}
}

static void usage(FILE *f, bool detach)
{
	if (detach)
		fprintf(f, "Usage: ksmpreload detach [--force] [--margin MIB] [--json] PID|NAME...\n"
			"Undo what `ksmpreload attach` did to running processes.\n"
			"  -f, --force      unmerge even when it leaves less than the margin\n"
			"                   free on the host or in the process's memory cgroup\n"
			"      --margin MIB memory the unmerge must leave free (64)\n");
	else
		fprintf(f, "Usage: ksmpreload attach [-p POLICY|NAME] [--mode process|regions]\n"
			"                         [--json] PID|NAME...\n"
			"       ksmpreload attach --watch [-p POLICY|NAME] [--mode M] [--interval MS]\n"
			"Make running processes merge, without restarting them: one thread\n"
			"is stopped for a moment by ptrace and made to call prctl() or\n"
			"madvise() itself.\n"
			"  -p, --policy P   policy file or shipped policy name\n"
			"  -m, --mode M     process (whole process) or regions (policy's ranges)\n"
			"  -w, --watch      keep attaching every process whose program a policy\n"
			"                   names (its program line), until SIGINT or SIGTERM\n"
			"  -i, --interval MS  how often --watch looks for new processes (1000)\n");
	fprintf(f, "      --start TICKS  only if the process started at TICKS (field 22\n"
		"                   of /proc/PID/stat), else ESRCH: not a reused pid\n"
		"  -j, --json       print JSON\n"
		"  -h, --help       show this help\n"
		"See ksmpreload(1).\n");
}

/* Was pid named as such among the arguments (rather than found by name)? */
static bool pid_given(int argc, char **argv, pid_t pid)
{
	for (int i = 0; i < argc; i++) {
		char *end;
		long v = strtol(argv[i], &end, 10);
		if (*argv[i] && !*end && v == (long)pid)
			return true;
	}
	return false;
}

static int attach_main(int argc, char **argv, bool detach)
{
	static const struct option lopts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "watch", no_argument, NULL, 'w' },
		{ "interval", required_argument, NULL, 'i' },
		{ "force", no_argument, NULL, 'f' },
		{ "margin", required_argument, NULL, 'g' },
		{ "start", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct attach_opts o = { .mode = -1, .detach = detach, .margin = 64ll << 20 };
	bool watch = false;
	long interval = 1000;
	int c;
	while ((c = getopt_long(argc, argv, detach ? "+jhf" : "+p:m:jhwi:", lopts, NULL)) != -1) {
		if (!detach && (c == 'f' || c == 'g')) {
			fprintf(stderr, "%s: --force and --margin are options of detach\n",
				prog(&o));
			return 2;
		}
		if (detach && (c == 'p' || c == 'm' || c == 'w' || c == 'i')) {
			usage(stderr, detach);
			return 2;
		}
		switch (c) {
		case 'f':
			o.force = true;
			break;
		case 'g': {
			char *end;
			errno = 0;
			long long mib = strtoll(optarg, &end, 10);
			if (errno || end == optarg || *end || mib < 0 || mib > 1 << 20) {
				fprintf(stderr, "%s: --margin takes 0 to 1048576 MiB\n", prog(&o));
				return 2;
			}
			o.margin = mib << 20;
			break;
		}
		case 's': {
			char *end;
			errno = 0;
			o.start = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end || *optarg == '-') {
				fprintf(stderr, "%s: --start takes a start time in clock "
					"ticks\n", prog(&o));
				return 2;
			}
			o.have_start = true;
			break;
		}
		case 'p':
			o.policy = optarg;
			break;
		case 'm':
			if (!strcmp(optarg, "process"))
				o.mode = KSMP_MODE_PROCESS;
			else if (!strcmp(optarg, "regions"))
				o.mode = KSMP_MODE_REGIONS;
			else {
				fprintf(stderr, "%s: unknown mode '%s' (process or regions)\n",
					prog(&o), optarg);
				return 2;
			}
			break;
		case 'j':
			o.json = true;
			break;
		case 'w':
			watch = !detach;
			break;
		case 'i':
			interval = strtol(optarg, NULL, 10);
			if (interval < 10 || interval > 3600000) {
				fprintf(stderr, "%s: --interval takes 10 to 3600000 "
					"milliseconds\n", prog(&o));
				return 2;
			}
			break;
		case 'h':
			usage(stdout, detach);
			return 0;
		default:
			usage(stderr, detach);
			return 2;
		}
	}
	if (watch) {
		if (optind < argc || o.json || o.have_start) {
			fprintf(stderr, "%s: --watch takes no process, no --json and "
				"no --start\n", prog(&o));
			return 2;
		}
		return attach_watch(&o, (unsigned)interval);
	}
	if (optind >= argc) {
		fprintf(stderr, "%s: no process given\n", prog(&o));
		usage(stderr, detach);
		return 2;
	}
	pid_t *pids = NULL;
	size_t n = 0;
	int status = 0;
	for (int i = optind; i < argc; i++) {
		int r = attach_resolve(argv[i], &pids, &n);
		if (r <= 0) {
			fprintf(stderr, "%s: %s: %s\n", prog(&o), argv[i],
				r == 0 ? "no such process" : strerror(-r));
			status = 1;
		}
	}
	ksmp_inject_test_pause("resolved");
	if (o.json)
		printf("[");
	for (size_t i = 0; i < n; i++)
		if (attach_do_one(&o, pids[i], !pid_given(argc - optind, argv + optind,
							    pids[i])) != 0)
			status = 1;
	if (o.json)
		printf("%s]\n", o.nout ? "\n" : "");
	free(pids);
	return status;
}

int ksmp_cmd_attach(int argc, char **argv)
{
	return attach_main(argc, argv, false);
}

int ksmp_cmd_detach(int argc, char **argv)
{
	return attach_main(argc, argv, true);
}
