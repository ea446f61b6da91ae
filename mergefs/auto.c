/*
 * auto.c - the controller of mode auto: measures, per process whose
 * policy says `mode auto`, which of the memory the library advised KSM
 * actually merges, and has the library prune (MADV_UNMERGEABLE) what
 * does not, so that ksmd stops scanning it; pruned memory is probed again
 * (MADV_MERGEABLE) after a delay that doubles each time it is pruned
 * again, because contents change; the delay starts over only once the
 * memory stayed merging that long (auto_restart(), auto_plan.c).
 *
 * Unit: chunks of the policy's auto-chunk (2 MiB), aligned, inside the
 * library's advised records (the region table in its state block).
 *
 * Measure: /proc/PID/pagemap, one 8-byte entry per page, read here (the
 * target runs nothing for it; the kernel holds its mmap lock per 2 MiB
 * of page table, a few microseconds: 3 ms of our CPU per GiB). Read back
 * to back, these reads starve a thread of the target that waits for the
 * mmap write lock (mmap, munmap, mprotect): the reader takes the lock
 * again before the woken writer runs, until the writer's hand-off
 * timeout. bench/ksmp-stall, 1 GiB target, four runs on 2 busy CPUs
 * (bench/results.md): its mmap+munmap took at worst 4-12 ms (p99.9 2-8.5
 * ms); with a PM_PAUSE_US pause after every 2 MiB read, 1-4.6 ms (p99.9
 * 0.06-0.56 ms; no reader: 0.1-1 ms, p99.9 0.02-0.03 ms), for 70 ms of
 * wall time per GiB. Only present pages count toward the 2 MiB: a JVM
 * reserves GiBs it never touches, and pausing through them cost the
 * controller 1.2-1.8 s of CPU in a bench run of jvm-g1 and
 * jvm-parallel, 0.2 s counting present pages only (one run each). Not a bound: under load a single round of 3 s saw
 * 10 ms. A present page that is not "exclusively mapped" (bit 56) is
 * mapped more than once: a KSM page that saves memory (or a page still
 * shared with a fork parent). A chunk is judged
 * when ksmd finished JUDGE_SCANS full scans since the chunk was advised
 * or probed (a page needs two to merge) and the process's merging stood
 * still (auto_survey.c); judged chunks without a shared page are pruned
 * (auto_plan()). Of a chunk kept, the sub-units (1/SUBS of it) with present
 * pages and none shared are pruned too. This needs no kpageflags and no PFNs, and counts
 * what saves memory: a KSM page mapped once saves nothing and counts as
 * not merging.
 *
 * Act: the control protocol's KSMP_CMD_RANGE_PRUNE / _PROBE (sender.c),
 * one range of adjacent chunks per command, at most MAX_CMD_BYTES, at
 * most MAX_CMDS commands per process and cycle. The library acts only on
 * records it advised itself. Pruned runs are limited by the policy's
 * auto-vmas: a run's end costs one VMA where a record goes on past it (the
 * VMA splits there), none where the records end (a record the run covers
 * whole, such as one of V8's 256 KiB pages, changes flags, not VMAs).
 *
 * When: a pass looks at every process with mergeable memory, auto_ms
 * after the last one ended; in between, a process still being judged
 * while young (QUICK_FOR_MS), or whose commands MAX_CMDS cut short, is
 * looked at again every QUICK_MS, so that it is pruned as soon as ksmd's
 * passes allow: in bench-real's python, Σ ksm_rmap_items settled 3.7 s
 * after the launch instead of 6.3-9.2 s (the first prune came at the
 * third pass, the rest of the 32-command bound one pass later).
 *
 * Never: act while ksmd is stopped (nothing would merge), judge a chunk
 * before ksmd had its passes over it, or probe a chunk more often than
 * auto-reprobe seconds.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "mergefs.h"
#include "policy.h"
#include "auto.h"

/* The controller's thread alone changes procs; it links and unlinks them,
 * and counts, under totals_lock, which readers (auto_get_proc) take. */
static struct proc *procs;
static unsigned auto_ms;
static struct auto_totals totals;
static pthread_mutex_t totals_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static long long ksm_knob(const char *name)
{
	char path[96], buf[32];
	snprintf(path, sizeof(path), KSM_SYS "%s", name);
	return ksmp_read_small(path, buf, sizeof(buf)) > 0 ? atoll(buf) : -1;
}

/* Read the policy's bounds from the block's canonical text. */
static void bounds(const struct ksmp_state *st, struct ksmp_policy *pol)
{
	static char text[KSMP_STATE_POLICY_TEXT + 1];
	uint32_t n = __atomic_load_n(&st->policy_text_len, __ATOMIC_ACQUIRE);
	if (n > KSMP_STATE_POLICY_TEXT)
		n = KSMP_STATE_POLICY_TEXT;
	memcpy(text, st->policy_text, n);
	text[n] = '\0';
	ksmp_policy_parse(pol, "state", text, n, NULL, NULL);
	if (pol->auto_chunk < 4096 || (pol->auto_chunk & (pol->auto_chunk - 1)))
		pol->auto_chunk = 2ull << 20;
	if (pol->auto_chunk > MAX_CMD_BYTES)	/* one command, one chunk at most */
		pol->auto_chunk = MAX_CMD_BYTES;
}

/* Count a change of chunk c by a command that returned r (under totals_lock). */
static void counted(struct proc *p, struct chunk *c, int r)
{
	if (r == 0 && ++c->changes > p->max_changes)
		p->max_changes = c->changes;
}

/* Send one of our commands. ctl.commands counts every command the agent
 * carried out, ours and others' (an operator's unmerge or merge, through
 * this mount, another or the CLI): a count that moved, since our last
 * command or while this one went out, by more than ours means others'
 * landed in between (p->others: the next look judges afresh). Ours
 * counts when the agent answered (0, or one of its errors taken as an
 * answer: ENOENT, ENOSPC). */
static int send(struct proc *p, struct target *t, uint32_t cmd,
		uint64_t addr, uint64_t len)
{
	const struct ksmp_ctl *c = &t->st->ctl;
	uint64_t before = __atomic_load_n(&c->commands, __ATOMIC_ACQUIRE);
	int r = target_command(t, cmd, addr, len, 0, 1000);
	uint64_t after = __atomic_load_n(&c->commands, __ATOMIC_ACQUIRE);
	uint64_t mine = r == 0 || r == -ENOENT || r == -ENOSPC;
	if (before != p->commands || after - before > mine)
		p->others = 1;
	p->commands = after;
	return r;
}

/* One command for sub-units: 2 if it took effect, 1 if it found none of
 * the library's records (no change), 0 if busy, -1 to stop. -ENOSPC (the
 * library's region table had no slot for a split) may have restated some
 * of the records and not others: taken as done, the next survey reads
 * what each record became (3: counted as neither). */
static int sub_command(struct proc *p, struct target *t, int cmd,
		       uint64_t addr, uint64_t len)
{
	int r = send(p, t, (uint32_t)cmd, addr, len);
	if (r == -ENOSPC)
		return 3;
	if (r && r != -ENOENT)
		return r == -EBUSY ? 0 : -1;
	pthread_mutex_lock(&totals_lock);
	if (cmd == KSMP_CMD_RANGE_PRUNE) {
		totals.prunes++;
		p->prunes += r == 0;
	} else {
		totals.probes++;
		p->probes += r == 0;
	}
	pthread_mutex_unlock(&totals_lock);
	return r ? 1 : 2;
}

/* A chunk's sub-units changed (one change per cycle, whatever the runs). */
static void sub_counted(struct proc *p, struct chunk *c, int done)
{
	if (done != 2)
		return;
	pthread_mutex_lock(&totals_lock);
	counted(p, c, 0);
	pthread_mutex_unlock(&totals_lock);
}

/* Prune the planned sub-units of kept chunks, probe those due: one
 * command per run of sub-units, or per chunk to probe. A chunk's batch
 * is sent whole or not at all: one cut short by MAX_CMDS kept its other
 * unshared sub-units until the batch's probe, auto-reprobe seconds or
 * more later; left whole, it comes at the next look (MAX_CMDS returned:
 * a quick one). */
static int act_sub(struct proc *p, struct target *t, uint64_t chunk,
		   unsigned reprobe, uint64_t full, uint64_t now, int cmds)
{
	uint64_t sub = chunk / SUBS;
	for (size_t i = 0; i < p->n && cmds < MAX_CMDS; i++) {
		struct chunk *c = &p->c[i];
		int done = 0;
		if (cmds + __builtin_popcount(c->sub_plan & ~(c->sub_plan << 1)) > MAX_CMDS)
			return MAX_CMDS;	/* its runs do not fit */
		uint64_t d = 0;	/* the batch's delay: auto_restart() once a
				 * command of it came back (not busy) */
		for (unsigned b = 0; b < SUBS && c->sub_plan; b++) {
			unsigned e = b;
			if (!(c->sub_plan & (1u << b)))
				continue;
			while (e + 1 < SUBS && (c->sub_plan & (1u << (e + 1))))
				e++;
			int r = sub_command(p, t, KSMP_CMD_RANGE_PRUNE,
					    c->addr + b * sub, (e - b + 1) * sub);
			cmds++;
			if (r < 0)
				return -1;
			done = r == 2 || done == 2 ? 2 : r > done ? 1 : done;
			if (r) {
				if (!d)
					d = auto_restart(&c->sub_level, &c->sub_kept_at, reprobe, now);
				c->sub |= auto_sub_bits(b * sub, (e + 1) * sub, sub);
				c->sub_probe_at = now + d;
			}
			b = e;
		}
		sub_counted(p, c, done);
		if (!c->sub_probe)
			continue;
		int r = sub_command(p, t, KSMP_CMD_RANGE_PROBE, c->addr, chunk);
		cmds++;
		if (r < 0)
			return -1;
		sub_counted(p, c, r);
		if (r == 3) {	/* some still pruned: offered again later */
			c->sub_probe_at = now + auto_restart(&c->sub_level, &c->sub_kept_at,
							     reprobe, now);
		} else if (r) {
			c->sub_was = c->sub;
			c->sub = 0;
			c->since = full;
		}
	}
	return cmds;
}

/* Is the process stopped (a signal or a tracer)? Its agent answers no
 * command until it runs again: each would cost the sender's timeout. */
static int stopped(pid_t pid)
{
	char s = ksmp_proc_state(pid);
	return s == 'T' || s == 't';
}

/* Anything planned to send? */
static int planned(const struct proc *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->c[i].act || p->c[i].sub_plan || p->c[i].sub_probe)
			return 1;
	return 0;
}

/* Send the planned commands, one per run of chunks with the same act.
 * Returns 1 if MAX_CMDS cut them short (more may be planned next time),
 * -1 if a command failed (stopped, refused, gone: none sent then if the
 * process is stopped). */
static int act(struct proc *p, struct target *t, uint64_t chunk,
	       unsigned reprobe, uint64_t full, uint64_t now)
{
	int cmds = 0;
	if (planned(p) && stopped(p->pid))
		return -1;
	for (size_t i = 0; i < p->n && cmds < MAX_CMDS;) {
		int what = p->c[i].act;
		if (!what) {
			i++;
			continue;
		}
		size_t j = i + 1;
		while (j < p->n && p->c[j].act == what &&
		       p->c[j].addr == p->c[j - 1].addr + chunk &&
		       (j - i + 1) * chunk <= MAX_CMD_BYTES)
			j++;
		uint64_t addr = p->c[i].addr, len = p->c[j - 1].addr + chunk - addr;
		int r = send(p, t, what == 1 ? KSMP_CMD_RANGE_PRUNE :
			     KSMP_CMD_RANGE_PROBE, addr, len);
		cmds++;
		if (r == 0 || r == -ENOENT) {
			pthread_mutex_lock(&totals_lock);
			for (size_t k = i; k < j; k++) {
				struct chunk *c = &p->c[k];
				/* -ENOENT: nothing of the library's there, no change */
				counted(p, c, r);
				if (what == 1) {
					auto_pruned(c, reprobe, now);
				} else {
					c->kept_at = 0;
					c->pruned = 0;
					c->since = full;
				}
			}
			if (what == 1) {
				totals.prunes += j - i;
				p->prunes += r == 0 ? j - i : 0;
			} else {
				totals.probes += j - i;
				p->probes += r == 0 ? j - i : 0;
			}
			pthread_mutex_unlock(&totals_lock);
		} else if (r == -ENOSPC) {
			/* The library's region table had no slot for a split:
			 * some records may be restated, others not. Taken as
			 * pruned, to be probed after a back-off: the next
			 * survey reads each record's state (a chunk still
			 * advised in part is judged again, and not pruned
			 * before that probe; what is pruned of it is probed
			 * then), instead of this command again at every look. */
			for (size_t k = i; k < j; k++)
				auto_pruned(&p->c[k], reprobe, now);
		} else if (r != -EBUSY) {
			cmds = -1;	/* unmerged, gone, no agent: next cycle */
			break;
		}
		i = j;
	}
	if (cmds >= 0 && chunk / SUBS >= MIN_SUB)
		cmds = act_sub(p, t, chunk, reprobe, full, now, cmds);
	return cmds < 0 ? -1 : cmds >= MAX_CMDS;
}

/* Chunks with pages that were not judged yet (ksmd's passes or the
 * merging plateau still to come). */
static int waiting(const struct proc *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (!p->c[i].pruned && p->c[i].present && !p->c[i].eligible)
			return 1;
	return 0;
}

static struct proc *proc_for(pid_t pid, uint64_t start)
{
	for (struct proc *p = procs; p; p = p->next)
		if (p->pid == pid && p->starttime == start)
			return p;
	struct proc *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	p->starttime = start;
	p->first_ms = now_ms();
	pthread_mutex_lock(&totals_lock);
	p->next = procs;
	procs = p;
	pthread_mutex_unlock(&totals_lock);
	return p;
}

int auto_get_proc(pid_t pid, uint64_t start, struct auto_proc *out)
{
	int r = -ENOENT;
	pthread_mutex_lock(&totals_lock);
	for (const struct proc *p = procs; p; p = p->next) {
		if (p->pid != pid || p->starttime != start)
			continue;
		out->prunes = p->prunes;
		out->probes = p->probes;
		out->max_changes = p->max_changes;
		out->measured = p->measured;
		out->followed_ms = now_ms() - p->first_ms;
		r = 0;
		break;
	}
	pthread_mutex_unlock(&totals_lock);
	return r;
}

struct cycle {
	uint64_t full, now;
};

static void one(struct cycle *cy, pid_t pid, long long merging)
{
	int err;
	struct target *t = target_get(pid, &err);
	if (!t)
		return;
	const struct ksmp_state *st = t->st;
	if (__atomic_load_n(&st->mode, __ATOMIC_ACQUIRE) != KSMP_MODE_AUTO ||
	    __atomic_load_n(&st->engine, __ATOMIC_ACQUIRE) != KSMP_ENGINE_REGIONS ||
	    !__atomic_load_n(&st->merge_state, __ATOMIC_ACQUIRE) ||
	    (__atomic_load_n(&st->flags, __ATOMIC_ACQUIRE) & KSMP_STF_PROCESS_INHERITED))
		goto out;	/* inherited whole-process merging: the admin's */
	struct proc *p = proc_for(pid, t->starttime);
	if (!p)
		goto out;
	p->seen = 1;
	p->missed = 0;
	if (merging != p->merging || !p->merging_since) {
		p->merging = merging;
		p->merging_since = cy->full;
	}
	/* Commands of others (unmerge, merge) re-advise: judge afresh. */
	uint64_t cmds = __atomic_load_n(&st->ctl.commands, __ATOMIC_ACQUIRE);
	if (p->n && (cmds != p->commands || p->others))
		for (size_t i = 0; i < p->n; i++)
			p->c[i].since = cy->full;
	p->commands = cmds;
	p->others = 0;
	static struct ksmp_policy pol;
	bounds(st, &pol);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto out;
	int n = auto_survey(p, st, pol.auto_chunk, cy->full, fd);
	close(fd);
	int more = 0;
	if (n >= 0 && !target_hit(t)) {
		auto_plan(p, pol.auto_chunk, pol.auto_vmas, pol.auto_reprobe, cy->now);
		more = act(p, t, pol.auto_chunk, pol.auto_reprobe, cy->full, cy->now);
	}
	/* Commands failed (a stopped process costs each the timeout, 1 s; a
	 * refused one its survey): the next passes leave it out, a growing
	 * number of them, bounded so that it is looked at again soon once
	 * it answers. */
	if (more < 0) {
		if (p->fail_level < SKIP_LEVEL)
			p->fail_level++;
		p->skip = 1u << p->fail_level;
	} else if (n >= 0) {
		p->fail_level = 0;
	}
	/* A young process is pruned as soon as it can be judged, not one
	 * or two passes later: until then ksmd scans all it advised. */
	uint64_t end = now_ms();
	p->quick_at = n >= 0 && more >= 0 &&
		      (more || (end - p->first_ms < QUICK_FOR_MS && waiting(p))) ?
		      end + QUICK_MS : 0;
	p->more = more > 0;
	p->full_seen = cy->full;
	pthread_mutex_lock(&totals_lock);
	totals.chunks_measured += n > 0 ? (uint64_t)n : 0;
	p->measured += n > 0 ? (uint64_t)n : 0;
	pthread_mutex_unlock(&totals_lock);
out:
	target_put(t);
}

/* A process whose commands failed, left out of this pass (see one()):
 * kept (seen), if the pid is still its. */
static int skipped(pid_t pid)
{
	uint64_t start;
	for (struct proc *p = procs; p; p = p->next) {
		if (p->pid != pid || !p->skip)
			continue;
		if (ksmp_proc_starttime(pid, &start) < 0 || start != p->starttime)
			return 0;
		p->skip--;
		p->seen = 1;
		return 1;
	}
	return 0;
}

/* Every process that has advised memory (ksm_stat's ksm_mergeable): the
 * library's mode auto processes are among them. Others are not even
 * looked at, which keeps a pass cheap on a busy host. */
static void each_mergeable(struct cycle *cy)
{
	DIR *d = opendir("/proc");
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		char *e;
		long v = strtol(de->d_name, &e, 10);
		struct pksm k;
		if (*e || v <= 0 || skipped((pid_t)v) ||
		    proc_ksm((pid_t)v, &k) < 0 || !k.valid || !k.mergeable)
			continue;
		one(cy, (pid_t)v, k.merging_pages);
	}
	closedir(d);
}

/* One controller per host: two would each spend the VMA budget and take
 * the other's commands for an operator's. The first to lock acts. */
static int only_one(void)
{
	static int fd = -1;
	if (fd < 0) {
		fd = open(AUTO_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return 0;
	}
	return flock(fd, LOCK_EX | LOCK_NB) == 0;
}

/* Whether this controller may act now; fills cy. */
static int cycle_begin(struct cycle *cy)
{
	cy->now = now_ms();
	if (!only_one())
		return 0;
	long long full = ksm_knob("full_scans");
	if (ksm_knob("run") != 1 || full < 0)
		return 0;
	cy->full = (uint64_t)full;
	return 1;
}

/* Between passes: look again at the processes whose quick_at came.
 * When no look may act (ksmd stopped, the lock another's), none is left
 * due: the loop below would wake for it again at once, and spun a CPU
 * until ksmd ran again, pass after pass. */
static void auto_quick(void)
{
	struct cycle cy;
	if (!cycle_begin(&cy)) {
		for (struct proc *p = procs; p; p = p->next)
			p->quick_at = 0;
		return;
	}
	for (struct proc *p = procs; p; p = p->next) {
		struct pksm k;
		if (!p->quick_at || p->quick_at > cy.now)
			continue;
		p->quick_at = 0;
		/* no full scan since: nothing more can be judged (a chunk
		 * needs JUDGE_SCANS), only measured again */
		if (!p->more && cy.full == p->full_seen) {
			if (cy.now - p->first_ms < QUICK_FOR_MS)
				p->quick_at = cy.now + QUICK_MS;
			continue;
		}
		if (proc_ksm(p->pid, &k) == 0 && k.valid && k.mergeable)
			one(&cy, p->pid, k.merging_pages);
	}
}

/* The soonest quick_at of any process, 0 if none. */
static uint64_t quick_next(void)
{
	uint64_t q = 0;
	for (const struct proc *p = procs; p; p = p->next)
		if (p->quick_at && (!q || p->quick_at < q))
			q = p->quick_at;
	return q;
}

void auto_cycle(void)
{
	struct cycle cy;
	if (!cycle_begin(&cy))
		return;
	for (struct proc *p = procs; p; p = p->next)
		p->seen = 0;
	each_mergeable(&cy);
	pthread_mutex_lock(&totals_lock);
	for (struct proc **pp = &procs; *pp;) {
		struct proc *p = *pp;
		uint64_t start;
		if (p->seen || (++p->missed < KEEP_MISSED &&
				ksmp_proc_starttime(p->pid, &start) == 0 &&
				start == p->starttime)) {
			pp = &p->next;	/* missed while alive: keep its history */
			continue;
		}
		*pp = p->next;
		free(p->c);
		free(p);
	}
	totals.cycles++;
	pthread_mutex_unlock(&totals_lock);
}

void auto_get_totals(struct auto_totals *out)
{
	pthread_mutex_lock(&totals_lock);
	*out = totals;
	pthread_mutex_unlock(&totals_lock);
}

static void sleep_until(uint64_t ms)
{
	uint64_t now = now_ms();
	if (ms <= now)
		return;
	struct timespec ts = { .tv_sec = (time_t)((ms - now) / 1000),
			       .tv_nsec = (long)((ms - now) % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

/* A pass (every process with mergeable memory), then auto_ms of quick
 * looks at those that asked for one, then the next pass. */
static void *loop(void *arg)
{
	(void)arg;
	for (;;) {
		auto_cycle();
		uint64_t next = now_ms() + auto_ms;
		for (;;) {
			uint64_t q = quick_next();
			if (!q || q >= next)
				break;
			sleep_until(q);
			auto_quick();
		}
		sleep_until(next);
	}
	return NULL;
}

int auto_start(unsigned interval_ms)
{
	auto_ms = interval_ms;
	if (!interval_ms)
		return 0;
	pthread_t th;
	int r = pthread_create(&th, NULL, loop, NULL);
	if (r)
		return -r;
	pthread_detach(th);
	return 0;
}
