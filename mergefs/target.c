/*
 * target.c - the table of attached targets (processes running
 * libksmpreload.so) and the SIGBUS guard over their mapped blocks.
 *
 * A target is attached by finding "/memfd:ksmpreload-state" in
 * /proc/PID/maps, opening it through /proc/PID/map_files/START-END and
 * mapping it MAP_SHARED. It is trusted only after magic, version, size
 * and pid match (and a start time, if the block records one), the start
 * time read from /proc is the same before and after a pidfd was opened,
 * and that pidfd's process is still alive after the block was mapped, so
 * the pidfd names the very process whose block we hold: a reused pid can
 * never receive a command meant for the old one.
 * Entries of exited processes are unmapped by target_sweep(), so a dead
 * process's block does not outlive it for long in mergefs either.
 *
 * Only a memfd on plain tmpfs sealed against resizing (as the library
 * makes it) is mapped (block_file_ok()), so a block cannot shrink under
 * us. As a second line, should one ever do so: a target running with
 * privileges could shrink an unsealed memfd (it may reopen it through its
 * own map_files), which would make our reads of the mapping fault with
 * SIGBUS and kill the whole filesystem. Every mapped
 * block is recorded in a lock-free registry; the SIGBUS handler, for a
 * fault inside a registered block only, puts a zero page over the
 * faulting page (so the access completes, reading zeros) and marks the
 * block "hit". A hit target is dropped at its next lookup and attached
 * again only if its memfd is whole again (fstat before mmap); the open
 * that saw the fault fails with EIO (target_hit()). Any other SIGBUS
 * keeps its default action.
 *
 * Never follow a block whose identity does not match.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mergefs.h"

#define TABLE_SIZE 1024
#define NEG_SIZE 4096
#define NEG_TTL_MS 1000
/* A process whose maps are too long to read (MAPS_BUDGET) is not read
 * again for this long. */
#define NEG_LONG_TTL_MS 60000

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct target *table[TABLE_SIZE];	/* table_lock */
static unsigned ntargets;			/* table_lock */
/* Most targets kept attached (each holds a pidfd and a mapping), of one
 * process uid and of all: past them the least recently used idle one of
 * that uid (or of any) is dropped, or the new one is used only for the
 * request at hand. Set by target_limits(). */
static unsigned max_per_uid = 256, max_all = 4096;

/* Processes found without a usable block, remembered briefly so that a
 * listing of many processes does not read every maps file every time. */
static struct neg {
	pid_t pid;
	uint64_t starttime;
	uint64_t when_ms;
	uint64_t ttl_ms;
} negs[NEG_SIZE];				/* table_lock */

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------- SIGBUS */

#define GUARD_SLOTS 8192

/* Mapped blocks: start address (0 = free) and length; written with
 * atomics by attach/free, read by the signal handler. */
static struct guard_slot {
	uintptr_t start;
	size_t len;
	int hit;		/* a fault happened inside */
} guard[GUARD_SLOTS];

static long guard_page;

static void bus_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	uintptr_t a = (uintptr_t)si->si_addr;
	for (int i = 0; i < GUARD_SLOTS; i++) {
		uintptr_t s = __atomic_load_n(&guard[i].start, __ATOMIC_ACQUIRE);
		size_t len = __atomic_load_n(&guard[i].len, __ATOMIC_RELAXED);
		if (s <= 1 || a < s || a - s >= len)
			continue;
		void *pg = (void *)(a & ~((uintptr_t)guard_page - 1));
		int e = errno;
		void *p = mmap(pg, (size_t)guard_page, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		errno = e;
		if (p == pg) {
			__atomic_store_n(&guard[i].hit, 1, __ATOMIC_RELEASE);
			return;	/* the access is retried on the zero page */
		}
		break;
	}
	/* Not ours: the default action, on return the fault repeats. */
	signal(sig, SIG_DFL);
}

int bus_guard_init(void)
{
	guard_page = sysconf(_SC_PAGESIZE);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = bus_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGBUS, &sa, NULL) == 0 ? 0 : -errno;
}

/* Register a block; its slot or -1 when the registry is full. A slot is
 * reserved with start = 1 (never matched) while it is filled in. */
static int guard_add(void *p, size_t len)
{
	for (int i = 0; i < GUARD_SLOTS; i++) {
		uintptr_t zero = 0;
		if (__atomic_load_n(&guard[i].start, __ATOMIC_RELAXED) ||
		    !__atomic_compare_exchange_n(&guard[i].start, &zero, 1, 0,
						 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			continue;
		__atomic_store_n(&guard[i].len, len, __ATOMIC_RELAXED);
		__atomic_store_n(&guard[i].hit, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&guard[i].start, (uintptr_t)p, __ATOMIC_RELEASE);
		return i;
	}
	return -1;
}

static void guard_del(int slot)
{
	if (slot >= 0)
		__atomic_store_n(&guard[slot].start, 0, __ATOMIC_RELEASE);
}

int target_hit(const struct target *t)
{
	return t && t->guard >= 0 && __atomic_load_n(&guard[t->guard].hit, __ATOMIC_ACQUIRE);
}

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

int target_alive(const struct target *t)
{
	struct pollfd p = { .fd = t->pidfd, .events = POLLIN };
	/* A pidfd polls readable once the process has exited. */
	return poll(&p, 1, 0) == 0;
}

static void target_free(struct target *t)
{
	guard_del(t->guard);
	if (t->st)
		munmap(t->st, t->maplen);
	if (t->pidfd >= 0)
		close(t->pidfd);
	pthread_mutex_destroy(&t->cmd_lock);
	free(t);
}

void target_put(struct target *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&table_lock);
	int last = --t->refs == 0;
	pthread_mutex_unlock(&table_lock);
	if (last)
		target_free(t);
}

/* Unlink (table_lock held); drops the table's reference. Returns 1 if the
 * caller must free. */
static int unlink_locked(struct target *t)
{
	struct target **pp = &table[(unsigned)t->pid % TABLE_SIZE];
	while (*pp && *pp != t)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = t->next;
		ntargets--;
	}
	return --t->refs == 0;
}

void target_sweep(void)
{
	struct target *dead = NULL;
	pthread_mutex_lock(&table_lock);
	for (int i = 0; i < TABLE_SIZE; i++) {
		struct target **pp = &table[i];
		while (*pp) {
			struct target *t = *pp;
			if (!target_alive(t) || target_hit(t)) {
				*pp = t->next;
				ntargets--;
				if (--t->refs == 0) {
					t->next = dead;
					dead = t;
				}
				continue;
			}
			pp = &t->next;
		}
	}
	pthread_mutex_unlock(&table_lock);
	while (dead) {
		struct target *n = dead->next;
		target_free(dead);
		dead = n;
	}
}

static const char block_name[] = "/memfd:" KSMP_STATE_MEMFD_NAME " (deleted)";

/* Candidate blocks found in maps: a hostile process may map many memfds
 * of that name; the first few are tried. */
#define CANDIDATES 4
struct cands {
	int n;
	unsigned long long s[CANDIDATES], e[CANDIDATES];
};

static int cand_line(void *ctx, char *l, size_t ll)
{
	struct cands *c = ctx;
	if (ll <= sizeof(block_name) - 1 ||
	    strcmp(l + ll - (sizeof(block_name) - 1), block_name))
		return 0;
	char *e;
	unsigned long long s = strtoull(l, &e, 16), f = 0;
	if (*e == '-')
		f = strtoull(e + 1, NULL, 16);
	if (f > s) {
		c->s[c->n] = s;
		c->e[c->n] = f;
		c->n++;
	}
	return c->n == CANDIDATES;
}

/* Does a maps line map the library itself (a file named libksmpreload.so
 * or libksmpreload.so.N, in any directory), not just a file whose path
 * mentions it (a source or build tree)? */
static int is_library_path(const char *l, size_t ll)
{
	const char *slash = memrchr(l, '/', ll);
	if (!slash)
		return 0;
	const char *b = slash + 1;
	size_t bl = ll - (size_t)(b - l);
	static const char lib[] = "libksmpreload.so";
	if (bl < sizeof(lib) - 1 || memcmp(b, lib, sizeof(lib) - 1))
		return 0;
	b += sizeof(lib) - 1;
	bl -= sizeof(lib) - 1;
	if (bl >= 10 && !memcmp(b + bl - 10, " (deleted)", 10))
		bl -= 10;	/* replaced on disk since it was loaded */
	for (size_t i = 0; i < bl; i++)
		if (b[i] != '.' && (b[i] < '0' || b[i] > '9'))
			return 0;
	return 1;
}

/* A maps line naming the library: its object (bit 1 of *ctx), or its
 * state block (bit 2: the walk stops there). */
static int lib_line(void *ctx, char *l, size_t ll)
{
	int *found = ctx;
	if (ll > sizeof(block_name) - 1 && !strcmp(l + ll - (sizeof(block_name) - 1), block_name))
		*found |= 2;
	else if (is_library_path(l, ll))
		*found |= 1;
	return *found >> 1;
}

int library_mapped(pid_t pid)
{
	int found = 0, r = maps_each(pid, lib_line, &found);
	if (found & 2)
		return 2;
	if (r < 0)
		return r;
	return found;
}

/* Seals the library puts on its memfd (preload/state.c): its size can
 * never change, so a mapping of it can never fault. */
#define SEALS_WANTED (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

/* Is fd a memfd we may map: on plain tmpfs (not hugetlbfs, whose pages
 * the SIGBUS guard could not replace) and sealed against resizing? */
static int block_file_ok(int fd)
{
	struct statfs sfs;
	int seals = fcntl(fd, F_GET_SEALS);
	return fstatfs(fd, &sfs) == 0 && sfs.f_type == TMPFS_MAGIC && seals >= 0 &&
	       (seals & SEALS_WANTED) == SEALS_WANTED;
}

/* Map the block at [s, f) of pid if it is one; NULL otherwise. */
static struct ksmp_state *map_one(pid_t pid, pid_t nspid, uint64_t starttime,
				  unsigned long long s, unsigned long long f,
				  size_t *maplen, int *slot, ino_t *ino)
{
	char path[96];
	struct ksmp_state *found = NULL;
	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)pid, s, f);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	struct stat sb;
	if (fd >= 0 && block_file_ok(fd) && fstat(fd, &sb) == 0 &&
	    (size_t)sb.st_size >= sizeof(struct ksmp_state)) {
		size_t len = (size_t)sb.st_size;
		void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		/* guarded before the first read: the target may shrink it at
		 * any time */
		int g = p != MAP_FAILED ? guard_add(p, len) : -1;
		if (g >= 0 && ksmp_state_identity_ok(p, len, pid, nspid, starttime) &&
		    !__atomic_load_n(&guard[g].hit, __ATOMIC_ACQUIRE)) {
			found = p;
			*maplen = len;
			*slot = g;
			*ino = sb.st_ino;
		} else if (p != MAP_FAILED) {
			guard_del(g);
			munmap(p, len);
		}
	}
	if (fd >= 0)
		close(fd);
	return found;
}

static struct ksmp_state *map_state(pid_t pid, pid_t nspid, uint64_t starttime,
				    const struct cands *c, size_t *maplen, int *slot,
				    int *which, ino_t *ino)
{
	struct ksmp_state *st = NULL;
	for (int i = 0; i < c->n && !st; i++) {
		st = map_one(pid, nspid, starttime, c->s[i], c->e[i], maplen, slot, ino);
		*which = i;
	}
	return st;
}

/* Is t's block still mapped in its process? An exec keeps pid and start
 * time but drops the old block (the new program makes its own). */
static int block_still_there(const struct target *t)
{
	char path[96];
	struct stat sb;
	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)t->pid,
		 t->map_s, t->map_e);
	return stat(path, &sb) == 0 && sb.st_ino == t->ino;
}

static struct target *lookup_locked(pid_t pid)
{
	for (struct target *t = table[(unsigned)pid % TABLE_SIZE]; t; t = t->next)
		if (t->pid == pid)
			return t;
	return NULL;
}

/* A valid cached entry for pid started at start, referenced; a stale one
 * is dropped. NULL with *none = 1 when pid was seen without a block
 * moments ago. */
static struct target *cache_lookup(pid_t pid, uint64_t start, int *none)
{
	struct target *stale = NULL, *found = NULL;
	*none = 0;
	pthread_mutex_lock(&table_lock);
	struct target *t = lookup_locked(pid);
	if (t && t->starttime == start && target_alive(t) && !target_hit(t) &&
	    (t->st->starttime == 0 || t->st->starttime == start)) {
		t->refs++;
		t->used_ms = now_ms();
		found = t;
	} else {
		if (t && unlink_locked(t))
			stale = t;
		struct neg *ng = &negs[(unsigned)pid % NEG_SIZE];
		*none = ng->pid == pid && ng->starttime == start &&
			now_ms() - ng->when_ms < ng->ttl_ms;
	}
	pthread_mutex_unlock(&table_lock);
	if (stale)
		target_free(stale);
	return found;
}

static void remember_none(pid_t pid, uint64_t start, uint64_t ttl_ms)
{
	pthread_mutex_lock(&table_lock);
	struct neg *ng = &negs[(unsigned)pid % NEG_SIZE];
	ng->pid = pid;
	ng->starttime = start;
	ng->when_ms = now_ms();
	ng->ttl_ms = ttl_ms;
	pthread_mutex_unlock(&table_lock);
}

/* Attach pid (started at start): a new, unpublished target with one
 * reference for the table and one for the caller, or NULL with *err as
 * target_get() says. */
static struct target *attach(pid_t pid, uint64_t start, int *err)
{
	/* Most processes have no block: say so from maps alone, before any
	 * pidfd (this is what a first listing of /MNT pays per process). */
	struct cands c = { 0, { 0 }, { 0 } };
	struct pstatus ps;
	int pidfd = -1;
	struct ksmp_state *st = NULL;
	size_t maplen = 0;
	int slot = -1, which = 0;
	ino_t ino = 0;
	*err = maps_each(pid, cand_line, &c);
	if (*err > 0)
		*err = 0;
	if (*err < 0 || c.n == 0)
		goto none;
	/* The pidfd first, then the identity: if the start time still matches
	 * once the pidfd is open, the pidfd names the same process. */
	pidfd = pidfd_open_(pid);
	if (pidfd < 0) {
		*err = errno == ESRCH ? -ENOENT : -errno;
		goto none;
	}
	uint64_t start2;
	if (proc_status(pid, &ps) < 0 || ksmp_proc_starttime(pid, &start2) < 0 || start2 != start) {
		*err = -ENOENT;
		goto none;
	}
	st = map_state(pid, ps.nspid, start, &c, &maplen, &slot, &which, &ino);
none:
	if (!st) {
		if (pidfd >= 0)
			close(pidfd);
		return NULL;
	}
	struct target *t = calloc(1, sizeof(*t));
	if (!t) {
		guard_del(slot);
		munmap(st, maplen);
		close(pidfd);
		*err = -ENOMEM;
		return NULL;
	}
	t->pid = pid;
	t->uid = ps.uid;
	t->map_s = c.s[which];
	t->map_e = c.e[which];
	t->ino = ino;
	t->starttime = start;
	t->st = st;
	t->maplen = maplen;
	t->pidfd = pidfd;
	t->guard = slot;
	t->refs = 2;	/* the table's and the caller's */
	pthread_mutex_init(&t->cmd_lock, NULL);
	/* Part of the identity check (ksmp_state_read.h): the block does not
	 * record the start time; alive now, the pidfd's process was alive
	 * when its map_files entry was opened, so the pid was still its. */
	if (!target_alive(t)) {
		target_free(t);
		*err = -ENOENT;
		return NULL;
	}
	return t;
}

void target_limits(unsigned per_uid, unsigned all)
{
	pthread_mutex_lock(&table_lock);
	max_per_uid = per_uid;
	max_all = all;
	pthread_mutex_unlock(&table_lock);
}

/* Make room for one more target of uid (table_lock held): unlink the
 * least recently used idle target of that uid (when it has max_per_uid)
 * or of any uid (when the table is full). Returns 0 when there is room,
 * -1 when every candidate is in use; *freed gets an unlinked target the
 * caller must free. */
static int make_room_locked(uid_t uid, struct target **freed)
{
	*freed = NULL;
	unsigned mine = 0;
	struct target *lru_mine = NULL, *lru_any = NULL;
	for (int i = 0; i < TABLE_SIZE; i++) {
		for (struct target *t = table[i]; t; t = t->next) {
			int idle = t->refs == 1;
			if (t->uid == uid) {
				mine++;
				if (idle && (!lru_mine || t->used_ms < lru_mine->used_ms))
					lru_mine = t;
			}
			if (idle && (!lru_any || t->used_ms < lru_any->used_ms))
				lru_any = t;
		}
	}
	struct target *victim = NULL;
	if (mine >= max_per_uid)
		victim = lru_mine;
	else if (ntargets >= max_all)
		victim = lru_any;
	else
		return 0;
	if (!victim)
		return -1;
	if (unlink_locked(victim))
		*freed = victim;
	return 0;
}

/* Put a new target into the table, or use the one another thread
 * attached meanwhile. Past the limits, it serves only the caller: its
 * only reference is the caller's. */
static struct target *publish(struct target *t)
{
	struct target *stale = NULL, *evicted = NULL;
	pthread_mutex_lock(&table_lock);
	t->used_ms = now_ms();
	struct target *other = lookup_locked(t->pid);
	if (other && other->starttime == t->starttime) {
		other->refs++;
		pthread_mutex_unlock(&table_lock);
		target_free(t);
		return other;
	}
	if (other && unlink_locked(other))
		stale = other;
	int room = ntargets < max_per_uid && ntargets < max_all ? 0 :
		   make_room_locked(t->uid, &evicted);
	if (room == 0) {
		t->next = table[(unsigned)t->pid % TABLE_SIZE];
		table[(unsigned)t->pid % TABLE_SIZE] = t;
		ntargets++;
	} else {
		t->refs--;	/* not in the table */
	}
	pthread_mutex_unlock(&table_lock);
	if (stale)
		target_free(stale);
	if (evicted)
		target_free(evicted);
	return t;
}

struct target *target_get(pid_t pid, int *err)
{
	uint64_t start;
	int none;
	*err = 0;
	if (pid <= 0 || ksmp_proc_starttime(pid, &start) < 0) {
		*err = -ENOENT;
		return NULL;
	}
	struct target *t = cache_lookup(pid, start, &none);
	if (t && !block_still_there(t)) {
		/* it exec'd: let the old block go, attach the new one */
		pthread_mutex_lock(&table_lock);
		if (lookup_locked(pid) == t)
			(void)unlink_locked(t);	/* our reference keeps it */
		pthread_mutex_unlock(&table_lock);
		target_put(t);
		t = NULL;
	}
	if (t || none)
		return t;
	t = attach(pid, start, err);
	if (t)
		return publish(t);
	if (*err == -E2BIG) {
		*err = 0;
		remember_none(pid, start, NEG_LONG_TTL_MS);
	} else if (*err == 0 || *err == -EACCES || *err == -EPERM) {
		*err = 0;
		remember_none(pid, start, NEG_TTL_MS);
	}
	return NULL;
}

/* Does pid seem to run the library: attached, or a block of that name in
 * its maps? Attaches nothing (no pidfd, no mapping), so that a count or a
 * listing costs one maps read per process whatever the limits are. */
static int target_peek(pid_t pid)
{
	uint64_t start;
	int none;
	if (ksmp_proc_starttime(pid, &start) < 0)
		return 0;
	struct target *t = cache_lookup(pid, start, &none);
	if (t) {
		target_put(t);
		return 1;
	}
	if (none)
		return 0;
	struct cands c = { 0, { 0 }, { 0 } };
	int r = maps_each(pid, cand_line, &c);
	if (r == -E2BIG)
		remember_none(pid, start, NEG_LONG_TTL_MS);
	else if (r == 0 && c.n == 0)
		remember_none(pid, start, NEG_TTL_MS);
	return r >= 0 && c.n > 0;
}

/* What a peeking scan passes for a process that seems to run the library:
 * never dereferenced, never put. */
static struct target peeked;

int scan_ksm_pids(pid_fn fn, void *ctx, int want)
{
	DIR *d = opendir("/proc");
	if (!d)
		return -errno;
	struct dirent *de;
	int r = 0;
	while (!r && (de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		char *e;
		long v = strtol(de->d_name, &e, 10);
		if (*e || v <= 0)
			continue;
		pid_t pid = (pid_t)v;
		struct pksm k;
		if (proc_ksm(pid, &k) < 0)
			continue;
		struct target *t = NULL;
		int err;
		if (want == SCAN_TARGET)
			t = target_get(pid, &err);
		else
			t = target_peek(pid) ? &peeked : NULL;
		if (!t && !pksm_active(&k))
			continue;
		r = fn(ctx, pid, &k, t);
		if (t != &peeked)
			target_put(t);
	}
	closedir(d);
	return r < 0 ? r : 0;
}
