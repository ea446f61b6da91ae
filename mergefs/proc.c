/*
 * proc.c - what mergefs reads from /proc, and the table of attached
 * targets (processes running libksmpreload.so).
 *
 * A target is attached by finding "/memfd:ksmpreload-state" in
 * /proc/PID/maps, opening it through /proc/PID/map_files/START-END and
 * mapping it MAP_SHARED. It is trusted only after magic, version, size,
 * pid and start time match, and the start time is read again after a
 * pidfd was opened, so the pidfd names the very process whose block we
 * hold: a reused pid can never receive a command meant for the old one.
 * Entries of exited processes are unmapped by target_sweep(), so a dead
 * process's block does not outlive it for long in mergefs either.
 *
 * A target running with privileges can shrink its memfd (it may reopen
 * it through its own map_files), which would make our reads of the
 * mapping fault with SIGBUS and kill the whole filesystem. Every mapped
 * block is recorded in a lock-free registry; the SIGBUS handler, for a
 * fault inside a registered block only, puts a zero page over the
 * faulting page (so the access completes, reading zeros) and marks the
 * block "hit". A hit target is dropped at its next lookup and attached
 * again only if its memfd is whole again (fstat before mmap); the open
 * that saw the fault fails with EIO (target_hit()). Any other SIGBUS
 * keeps its default action.
 *
 * Never: read smaps here (it stalls the target); follow a block whose
 * identity does not match.
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
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mergefs.h"

ssize_t read_small(const char *path, char *buf, size_t sz)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t got = 0;
	while (got + 1 < sz) {
		ssize_t n = read(fd, buf + got, sz - 1 - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			return e == ESRCH ? -ENOENT : -e;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		/* Every file read here (/proc/PID/{stat,status,ksm_stat},
		 * sysfs) is produced in one piece: a short read is its end,
		 * which saves a second read per file when listing thousands. */
		if (got + 1 < sz)
			break;
	}
	close(fd);
	buf[got] = 0;
	return (ssize_t)got;
}

/* Read a whole file of any size; caller frees. */
static char *read_all(const char *path, size_t *lenp, int *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*err = -errno;
		return NULL;
	}
	size_t cap = 64 * 1024, len = 0;
	char *buf = malloc(cap);
	while (buf) {
		if (len + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			*err = errno == ESRCH ? -ENOENT : -errno;
			free(buf);
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (!buf) {
		*err = -ENOMEM;
		return NULL;
	}
	buf[len] = 0;
	*lenp = len;
	return buf;
}

int proc_status(pid_t pid, struct pstatus *ps)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	ssize_t n = read_small(path, buf, sizeof(buf));
	if (n < 0)
		return n == -EACCES ? -EACCES : -ENOENT;
	memset(ps, 0, sizeof(*ps));
	ps->tgid = -1;
	int have_uid = 0, same = 0;
	for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (!strncmp(l, "Name:\t", 6)) {
			size_t i = 0;
			/* the kernel escapes \ and newline in Name: undo it */
			for (char *p = l + 6; *p && *p != '\n' && i + 1 < sizeof(ps->name); p++) {
				if (p[0] == '\\' && (p[1] == '\\' || p[1] == 'n'))
					ps->name[i++] = *++p == 'n' ? '\n' : '\\';
				else
					ps->name[i++] = *p;
			}
			ps->name[i] = 0;
		} else if (!strncmp(l, "Tgid:", 5)) {
			ps->tgid = (pid_t)strtol(l + 5, NULL, 10);
		} else if (!strncmp(l, "Uid:", 4)) {
			/* real, effective, saved, fs */
			char *p = l + 4, *end;
			unsigned long u[4];
			int i = 0;
			for (; i < 4; i++) {
				u[i] = strtoul(p, &end, 10);
				if (end == p)
					break;
				p = end;
			}
			ps->uid = (uid_t)u[0];
			have_uid = i == 4;
			same = have_uid && u[1] == u[0] && u[2] == u[0] && u[3] == u[0];
		} else if (!strncmp(l, "SigCgt:", 7)) {
			ps->sigcgt = strtoull(l + 7, NULL, 16);
		} else if (!strncmp(l, "NSpid:", 6)) {
			char *p = l + 6, *end;
			for (;;) {
				long v = strtol(p, &end, 10);
				if (end == p)
					break;
				ps->nspid = (pid_t)v;
				p = end;
			}
		}
	}
	if (ps->tgid <= 0 || !have_uid)
		return -ENOENT;
	/* /proc/PID's files belong to root when the process is not
	 * dumpable (PR_SET_DUMPABLE 0, or it changed credentials, e.g.
	 * setuid); the directory itself keeps the euid. */
	struct stat sb;
	ps->owner = same && stat(path, &sb) == 0 && sb.st_uid == ps->uid ? ps->uid : 0;
	return 0;
}

int proc_starttime(pid_t pid, uint64_t *starttime)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	ssize_t n = read_small(path, buf, sizeof(buf));
	if (n < 0)
		return -ENOENT;
	char *p = strrchr(buf, ')');
	if (!p)
		return -ENOENT;
	p++;
	/* p points at " S ppid ...": field 3 is the first after ')' */
	for (int field = 2; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -ENOENT;
		p++;
	}
	*starttime = strtoull(p, NULL, 10);
	return 0;
}

int proc_ksm(pid_t pid, struct pksm *k)
{
	char path[64], buf[1024];
	memset(k, 0, sizeof(*k));
	snprintf(path, sizeof(path), "/proc/%d/ksm_stat", (int)pid);
	ssize_t n = read_small(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	k->valid = 1;
	for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char *sp = strchr(l, ' ');
		if (!sp)
			continue;
		size_t kl = (size_t)(sp - l);
		if (kl && l[kl - 1] == ':')
			kl--;	/* "ksm_merge_any: no" */
		const char *v = sp + 1;
#define KEY(s) (kl == sizeof(s) - 1 && !strncmp(l, s, kl))
		if (KEY("ksm_rmap_items"))
			k->rmap_items = strtoll(v, NULL, 10);
		else if (KEY("ksm_zero_pages"))
			k->zero_pages = strtoll(v, NULL, 10);
		else if (KEY("ksm_merging_pages"))
			k->merging_pages = strtoll(v, NULL, 10);
		else if (KEY("ksm_process_profit"))
			k->process_profit = strtoll(v, NULL, 10);
		else if (KEY("ksm_merge_any"))
			k->merge_any = !strncmp(v, "yes", 3) || *v == '1';
		else if (KEY("ksm_mergeable"))
			k->mergeable = !strncmp(v, "yes", 3) || *v == '1';
#undef KEY
	}
	return 0;
}

int pksm_active(const struct pksm *k)
{
	return k->valid && (k->merge_any || k->mergeable || k->rmap_items > 0 ||
			    k->merging_pages > 0);
}

int proc_range_mapped(pid_t pid, uint64_t addr, uint64_t len)
{
	char path[64];
	size_t n;
	int err = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	char *buf = read_all(path, &n, &err);
	if (!buf)
		return err;
	uint64_t want = addr, end = addr + len;
	for (char *l = buf; l && *l && want < end; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char *e;
		uint64_t s = strtoull(l, &e, 16);
		if (*e != '-')
			continue;
		uint64_t f = strtoull(e + 1, NULL, 16);
		if (s <= want && want < f)
			want = f;
		else if (s > want)
			break;	/* maps is sorted: a hole */
	}
	free(buf);
	return want >= end;
}

/* ---------------------------------------------------------------- targets */

#define TABLE_SIZE 1024
#define NEG_SIZE 4096
#define NEG_TTL_MS 1000

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct target *table[TABLE_SIZE];	/* table_lock */

/* Processes found without a usable block, remembered briefly so that a
 * listing of many processes does not read every maps file every time. */
static struct neg {
	pid_t pid;
	uint64_t starttime;
	uint64_t when_ms;
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
	if (*pp)
		*pp = t->next;
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

static int identity_ok(const struct ksmp_state *st, size_t maplen, pid_t pid,
		       pid_t nspid, uint64_t starttime)
{
	return maplen >= sizeof(*st) && st->magic == KSMP_STATE_MAGIC &&
	       st->version == KSMP_STATE_VERSION && st->size >= sizeof(*st) &&
	       st->size <= maplen && (st->pid == pid || (nspid > 0 && st->pid == nspid)) &&
	       st->starttime == starttime;
}

/* Find and map the block; NULL with *err = 0 when there is none. */
static const char block_name[] = "/memfd:" KSMP_STATE_MEMFD_NAME " (deleted)";

/* Find the block in buf (pid's maps, which it consumes) and map it; NULL
 * with *err = 0 when there is none. */
static struct ksmp_state *map_state(pid_t pid, pid_t nspid, uint64_t starttime,
				    char *buf, size_t *maplen, int *slot, int *err)
{
	char path[96];
	const char *name = block_name;
	struct ksmp_state *found = NULL;
	*err = 0;
	for (char *l = buf; l && *l && !found;) {
		char *nl = strchr(l, '\n');
		if (nl)
			*nl = 0;
		size_t ll = strlen(l);
		if (ll > sizeof(block_name) - 1 &&
		    !strcmp(l + ll - (sizeof(block_name) - 1), name)) {
			char *e;
			unsigned long long s = strtoull(l, &e, 16), f = 0;
			if (*e == '-')
				f = strtoull(e + 1, NULL, 16);
			if (f > s) {
				snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx",
					 (int)pid, s, f);
				int fd = open(path, O_RDWR | O_CLOEXEC);
				struct stat sb;
				if (fd >= 0 && fstat(fd, &sb) == 0 &&
				    (size_t)sb.st_size >= sizeof(struct ksmp_state)) {
					size_t len = (size_t)sb.st_size;
					void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
						       MAP_SHARED, fd, 0);
					/* guarded before the first read: the
					 * target may shrink it at any time */
					int g = p != MAP_FAILED ? guard_add(p, len) : -1;
					if (g >= 0 && identity_ok(p, len, pid, nspid, starttime) &&
					    !__atomic_load_n(&guard[g].hit, __ATOMIC_ACQUIRE)) {
						found = p;
						*maplen = len;
						*slot = g;
					} else if (p != MAP_FAILED) {
						guard_del(g);
						munmap(p, len);
					}
				}
				if (fd >= 0)
					close(fd);
			}
		}
		l = nl ? nl + 1 : NULL;
	}
	return found;
}

static struct target *lookup_locked(pid_t pid)
{
	for (struct target *t = table[(unsigned)pid % TABLE_SIZE]; t; t = t->next)
		if (t->pid == pid)
			return t;
	return NULL;
}

struct target *target_get(pid_t pid, int *err)
{
	uint64_t start;
	*err = 0;
	if (pid <= 0 || proc_starttime(pid, &start) < 0) {
		*err = -ENOENT;
		return NULL;
	}
	struct target *stale = NULL;
	pthread_mutex_lock(&table_lock);
	struct target *t = lookup_locked(pid);
	if (t && t->starttime == start && target_alive(t) && !target_hit(t) &&
	    t->st->starttime == start) {
		t->refs++;
		pthread_mutex_unlock(&table_lock);
		return t;
	}
	if (t && unlink_locked(t))
		stale = t;
	struct neg *ng = &negs[(unsigned)pid % NEG_SIZE];
	uint64_t now = now_ms();
	if (ng->pid == pid && ng->starttime == start && now - ng->when_ms < NEG_TTL_MS) {
		pthread_mutex_unlock(&table_lock);
		if (stale)
			target_free(stale);
		return NULL;
	}
	pthread_mutex_unlock(&table_lock);
	if (stale)
		target_free(stale);

	/* Most processes have no block: say so from maps alone, before any
	 * pidfd (this is what a first listing of /MNT pays per process). */
	char path[64];
	size_t mlen;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	char *maps = read_all(path, &mlen, err);
	struct pstatus ps;
	int pidfd = -1;
	struct ksmp_state *st = NULL;
	size_t maplen = 0;
	int slot = -1;
	if (!maps || !strstr(maps, block_name))
		goto none;
	/* The pidfd first, then the identity: if the start time still matches
	 * once the pidfd is open, the pidfd names the same process. */
	pidfd = pidfd_open_(pid);
	if (pidfd < 0) {
		*err = errno == ESRCH ? -ENOENT : -errno;
		goto none;
	}
	uint64_t start2;
	if (proc_status(pid, &ps) < 0 || proc_starttime(pid, &start2) < 0 || start2 != start) {
		*err = -ENOENT;
		goto none;
	}
	st = map_state(pid, ps.nspid, start, maps, &maplen, &slot, err);
none:
	free(maps);
	if (!st) {
		if (pidfd >= 0)
			close(pidfd);
		if (*err == 0 || *err == -EACCES || *err == -EPERM) {
			*err = 0;
			pthread_mutex_lock(&table_lock);
			ng->pid = pid;
			ng->starttime = start;
			ng->when_ms = now_ms();
			pthread_mutex_unlock(&table_lock);
		}
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		guard_del(slot);
		munmap(st, maplen);
		close(pidfd);
		*err = -ENOMEM;
		return NULL;
	}
	t->pid = pid;
	t->starttime = start;
	t->st = st;
	t->maplen = maplen;
	t->pidfd = pidfd;
	t->guard = slot;
	t->refs = 2;	/* the table's and the caller's */
	pthread_mutex_init(&t->cmd_lock, NULL);
	if (!target_alive(t)) {
		target_free(t);
		*err = -ENOENT;
		return NULL;
	}
	pthread_mutex_lock(&table_lock);
	struct target *other = lookup_locked(pid);
	if (other && other->starttime == start) {
		/* Another thread attached it meanwhile: use that one. */
		other->refs++;
		pthread_mutex_unlock(&table_lock);
		target_free(t);
		return other;
	}
	if (other && unlink_locked(other))
		stale = other;
	else
		stale = NULL;
	t->next = table[(unsigned)pid % TABLE_SIZE];
	table[(unsigned)pid % TABLE_SIZE] = t;
	pthread_mutex_unlock(&table_lock);
	if (stale)
		target_free(stale);
	return t;
}

int scan_ksm_pids(pid_fn fn, void *ctx, int want_target)
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
		if (want_target || !pksm_active(&k)) {
			t = target_get(pid, &err);
			if (!t && !pksm_active(&k))
				continue;
		}
		r = fn(ctx, pid, &k, t);
		target_put(t);
	}
	closedir(d);
	return r < 0 ? r : 0;
}
