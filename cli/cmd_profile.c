/*
 * cmd_profile.c - `ksmpreload profile [-o POLICY] [-n N] [--settle S]
 * [--json] [--report FILE] -- COMMAND [ARG]...`: run N instances of a
 * command under the library with a recording policy, let KSM settle, then
 * join what the library advised (its region table: kind, rule, caller
 * object and calling PC) with what KSM merged per mapping (/proc/PID/smaps
 * KSM:, read once at the end) and write a report per origin plus a
 * suggested policy that merges the productive origins.
 *
 * Origin = (kind, calling object, calling function). The function comes
 * from the calling PC the library records when KSMP_PROFILE=1, resolved
 * with libelf against the object's .symtab (else .dynsym), static
 * functions included.
 *
 * The state blocks are read through /proc/PID/mem at the address of the
 * "/memfd:ksmpreload-state" mapping: the instances are our children, so
 * this needs no privilege beyond ptrace access to them. Merged bytes of a
 * region are its share of the KSM kB of every VMA it overlaps (by length):
 * exact when a region is a whole VMA, an estimate when several regions of
 * different origins share one VMA.
 *
 * Never: leave the instances running (they are ended with SIGTERM, then
 * SIGKILL), or write the policy before it parsed cleanly.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <getopt.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "ksmp_state.h"
#include "policy.h"

#define COST_LIMIT	64	/* rmap_items per merged page: give up beyond */
#define MAX_INST	64
#define DEFAULT_MAX_WAIT 300	/* seconds, when no --settle is given */

/* Recording policy: every kind the library can advise except thread
 * stacks (return addresses and locals), crypto libraries still skipped. */
static const char recording_policy[] =
	"name      profile\n"
	"mode      regions\n"
	"log       error\n"
	"strict    no\n"
	"control   yes\n"
	"heap-step 8M\n"
	"skip  any caller=libcrypto.so* caller=libssl*.so* caller=libgcrypt.so* "
	"caller=libsodium.so* caller=libgnutls*.so* caller=libnettle.so* "
	"caller=libhogweed.so* caller=libmbed*.so*\n"
	"skip  any caller=libnss3.so* caller=libnssutil3.so* caller=libsoftokn3.so* "
	"caller=libfreebl*.so* caller=libsmime3.so* caller=libwolfssl.so* "
	"caller=libk5crypto.so* caller=libbotan*.so*\n"
	"skip  stack\n"
	"merge heap,arena,chunk,mmap,file\n";

static const char crypto_skips[] =
	"# Crypto libraries' memory stays apart (timing side channel), always first.\n"
	"skip  any caller=libcrypto.so* caller=libssl*.so* caller=libgcrypt.so* "
	"caller=libsodium.so* caller=libgnutls*.so* caller=libnettle.so* "
	"caller=libhogweed.so* caller=libmbed*.so*\n"
	"skip  any caller=libnss3.so* caller=libnssutil3.so* caller=libsoftokn3.so* "
	"caller=libfreebl*.so* caller=libsmime3.so* caller=libwolfssl.so* "
	"caller=libk5crypto.so* caller=libbotan*.so*\n";

/* ------------------------------------------------------------ utilities */
static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *read_text(const char *path, size_t *lenp)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 65536, len = 0;
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
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0) {
				free(buf);
				buf = NULL;
			}
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	if (buf) {
		buf[len] = '\0';
		if (lenp)
			*lenp = len;
	}
	return buf;
}

/* A key's value in /proc/PID/ksm_stat, or -1. */
static long long ksm_stat(pid_t pid, const char *key)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ksm_stat", (int)pid);
	char *t = read_text(path, NULL);
	if (!t)
		return -1;
	long long v = -1;
	size_t kl = strlen(key);
	for (char *l = t; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, key, kl) && l[kl] == ' ') {
			v = strtoll(l + kl + 1, NULL, 10);
			break;
		}
	free(t);
	return v;
}

static long long full_scans(void)
{
	char *t = read_text("/sys/kernel/mm/ksm/full_scans", NULL);
	long long v = t ? strtoll(t, NULL, 10) : -1;
	free(t);
	return v;
}

static const char *base(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* ------------------------------------------------------------- mappings */
struct vma {
	uint64_t lo, hi, off;
	uint64_t rss_kb, ksm_kb;
	char *path;		/* NULL for anonymous */
};

struct vmas {
	struct vma *v;
	size_t n, cap;
};

static void vmas_free(struct vmas *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
	m->v = NULL;
	m->n = m->cap = 0;
}

/* Parse /proc/PID/smaps (or maps: then rss/ksm stay 0). */
static int read_vmas(pid_t pid, const char *file, struct vmas *m)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	char *t = read_text(path, NULL);
	if (!t)
		return -errno;
	char *save = NULL;
	for (char *l = strtok_r(t, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		unsigned long long lo, hi, off;
		char perms[8];
		int pos = 0;
		if (sscanf(l, "%llx-%llx %7s %llx %*s %*s%n", &lo, &hi, perms, &off,
			   &pos) == 4 && pos > 0) {
			if (m->n == m->cap) {
				size_t nc = m->cap ? m->cap * 2 : 256;
				struct vma *nv = realloc(m->v, nc * sizeof(*nv));
				if (!nv) {
					free(t);
					return -ENOMEM;
				}
				m->v = nv;
				m->cap = nc;
			}
			struct vma *v = &m->v[m->n++];
			memset(v, 0, sizeof(*v));
			v->lo = lo;
			v->hi = hi;
			v->off = off;
			const char *p = l + pos;
			while (*p == ' ')
				p++;
			if (*p == '/')
				v->path = strdup(p);
			continue;
		}
		if (!m->n)
			continue;
		if (!strncmp(l, "Rss:", 4))
			m->v[m->n - 1].rss_kb = strtoull(l + 4, NULL, 10);
		else if (!strncmp(l, "KSM:", 4))
			m->v[m->n - 1].ksm_kb = strtoull(l + 4, NULL, 10);
	}
	free(t);
	return 0;
}

/* ---------------------------------------------------------- ELF symbols */
struct sym {
	uint64_t lo, size;
	char *name;
};

struct elfsyms {
	char *path;
	struct sym *s;
	size_t n;
	GElf_Phdr *ph;
	size_t nph;
	struct elfsyms *next;
};

static struct elfsyms *elf_cache;

static int sym_cmp(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void load_table(Elf *e, Elf_Scn *scn, GElf_Shdr *sh, struct elfsyms *es)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	if (!d || !sh->sh_entsize)
		return;
	size_t cnt = sh->sh_size / sh->sh_entsize;
	es->s = calloc(cnt ? cnt : 1, sizeof(*es->s));
	if (!es->s)
		return;
	for (size_t i = 0; i < cnt; i++) {
		GElf_Sym sym;
		if (!gelf_getsym(d, (int)i, &sym))
			continue;
		if (GELF_ST_TYPE(sym.st_info) != STT_FUNC || !sym.st_value ||
		    sym.st_shndx == SHN_UNDEF)
			continue;
		const char *nm = elf_strptr(e, sh->sh_link, sym.st_name);
		if (!nm || !*nm)
			continue;
		es->s[es->n].lo = sym.st_value;
		es->s[es->n].size = sym.st_size;
		es->s[es->n].name = strdup(nm);
		if (es->s[es->n].name)
			es->n++;
	}
	qsort(es->s, es->n, sizeof(*es->s), sym_cmp);
}

static struct elfsyms *elf_syms(const char *path)
{
	for (struct elfsyms *c = elf_cache; c; c = c->next)
		if (!strcmp(c->path, path))
			return c;
	struct elfsyms *es = calloc(1, sizeof(*es));
	if (!es)
		return NULL;
	es->path = strdup(path);
	es->next = elf_cache;
	elf_cache = es;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return es;
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	if (e && elf_kind(e) == ELF_K_ELF) {
		size_t nph = 0;
		if (elf_getphdrnum(e, &nph) == 0 && nph) {
			es->ph = calloc(nph, sizeof(*es->ph));
			for (size_t i = 0; es->ph && i < nph; i++)
				if (gelf_getphdr(e, (int)i, &es->ph[es->nph]) &&
				    es->ph[es->nph].p_type == PT_LOAD)
					es->nph++;
		}
		Elf_Scn *symtab = NULL, *dynsym = NULL;
		GElf_Shdr sh_sym, sh_dyn, sh;
		for (Elf_Scn *scn = elf_nextscn(e, NULL); scn; scn = elf_nextscn(e, scn)) {
			if (!gelf_getshdr(scn, &sh))
				continue;
			if (sh.sh_type == SHT_SYMTAB) {
				symtab = scn;
				sh_sym = sh;
			} else if (sh.sh_type == SHT_DYNSYM) {
				dynsym = scn;
				sh_dyn = sh;
			}
		}
		if (symtab)
			load_table(e, symtab, &sh_sym, es);
		if (!es->n && dynsym) {
			free(es->s);
			es->s = NULL;
			load_table(e, dynsym, &sh_dyn, es);
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	return es;
}

/* "function+0xoff" for pc in one of the process's file mappings, into out;
 * the object's basename into obj (when obj[0] is empty). */
static void resolve_pc(const struct vmas *maps, uint64_t pc, char *obj,
		       size_t objsz, char *out, size_t outsz)
{
	out[0] = '\0';
	if (!pc)
		return;
	const struct vma *v = NULL;
	for (size_t i = 0; i < maps->n; i++)
		if (pc - 1 >= maps->v[i].lo && pc - 1 < maps->v[i].hi) {
			v = &maps->v[i];
			break;
		}
	if (!v || !v->path) {
		snprintf(out, outsz, "0x%" PRIx64, pc);
		return;
	}
	if (!obj[0])
		snprintf(obj, objsz, "%s", base(v->path));
	uint64_t fileoff = pc - v->lo + v->off;
	struct elfsyms *es = elf_syms(v->path);
	uint64_t vaddr = fileoff;
	bool mapped = false;
	for (size_t i = 0; es && i < es->nph; i++) {
		const GElf_Phdr *p = &es->ph[i];
		if (fileoff >= p->p_offset && fileoff < p->p_offset + p->p_filesz) {
			vaddr = fileoff - p->p_offset + p->p_vaddr;
			mapped = true;
			break;
		}
	}
	/* the symbol containing the call instruction (pc - 1): among the
	 * last few starting at or below it, one whose size covers it, else
	 * the nearest one without a size */
	const struct sym *best = NULL;
	if (es && mapped && es->n) {
		uint64_t at = vaddr - 1;
		size_t lo = 0, hi = es->n;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (es->s[mid].lo <= at)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t i = lo; i-- > 0 && lo - i <= 16 && !best;)
			if (es->s[i].size && at < es->s[i].lo + es->s[i].size)
				best = &es->s[i];
		if (!best && lo > 0 && !es->s[lo - 1].size)
			best = &es->s[lo - 1];
	}
	if (best)
		snprintf(out, outsz, "%s+0x%" PRIx64, best->name, vaddr - best->lo);
	else
		snprintf(out, outsz, "0x%" PRIx64, vaddr);
}

static void elf_cache_free(void)
{
	while (elf_cache) {
		struct elfsyms *n = elf_cache->next;
		for (size_t i = 0; i < elf_cache->n; i++)
			free(elf_cache->s[i].name);
		free(elf_cache->s);
		free(elf_cache->ph);
		free(elf_cache->path);
		free(elf_cache);
		elf_cache = n;
	}
}

/* --------------------------------------------------------------- origins */
struct origin {
	int kind;
	char obj[KSMP_STATE_CALLER_MAX];
	char func[192];		/* function name without offset, "" unknown */
	char site[224];		/* one full "function+0xoff" seen */
	uint64_t advised, merged, rss, regions;
};

struct origins {
	struct origin *o;
	size_t n, cap;
};

static struct origin *origin_get(struct origins *os, int kind, const char *obj,
				 const char *site)
{
	char func[192];
	snprintf(func, sizeof(func), "%s", site);
	char *plus = strrchr(func, '+');
	if (plus && plus != func)
		*plus = '\0';
	for (size_t i = 0; i < os->n; i++)
		if (os->o[i].kind == kind && !strcmp(os->o[i].obj, obj) &&
		    !strcmp(os->o[i].func, func))
			return &os->o[i];
	if (os->n == os->cap) {
		size_t nc = os->cap ? os->cap * 2 : 64;
		struct origin *no = realloc(os->o, nc * sizeof(*no));
		if (!no)
			return NULL;
		os->o = no;
		os->cap = nc;
	}
	struct origin *o = &os->o[os->n++];
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	snprintf(o->obj, sizeof(o->obj), "%s", obj);
	snprintf(o->func, sizeof(o->func), "%s", func);
	snprintf(o->site, sizeof(o->site), "%s", site);
	return o;
}

/* Scan cost: pages ksmd keeps an rmap_item for (the present pages of
 * the advised ranges; a never-touched reservation costs nothing) per
 * merged page. */
static double cost_of(uint64_t present, uint64_t merged)
{
	return merged ? (double)present / (double)merged : INFINITY;
}

static bool productive(uint64_t present, uint64_t merged)
{
	return merged > 0 && cost_of(present, merged) <= COST_LIMIT;
}

static int by_merged(const void *a, const void *b)
{
	const struct origin *x = a, *y = b;
	if (x->merged != y->merged)
		return x->merged > y->merged ? -1 : 1;
	return x->advised > y->advised ? -1 : x->advised < y->advised;
}

/* ------------------------------------------------------------- instances */
struct inst {
	pid_t pid;
	bool exited, read_ok;
	bool estimated;		/* merged bytes shared out from smaps per VMA */
	long long merging, rmap, profit;
	uint64_t advised;
};

/* Copy the process's state block (through /proc/PID/mem). */
static struct ksmp_state *read_state(pid_t pid, const struct vmas *maps)
{
	static const char name[] = "/memfd:" KSMP_STATE_MEMFD_NAME " (deleted)";
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	/* memfd mappings show as "/memfd:NAME (deleted)" paths */
	for (size_t i = 0; i < maps->n; i++) {
		const struct vma *v = &maps->v[i];
		if (!v->path || strcmp(v->path, name) ||
		    v->hi - v->lo < sizeof(struct ksmp_state))
			continue;
		struct ksmp_state *st = malloc(sizeof(*st));
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (!st || fd < 0) {
			free(st);
			if (fd >= 0)
				close(fd);
			return NULL;
		}
		ssize_t n = pread(fd, st, sizeof(*st), (off_t)v->lo);
		close(fd);
		if (n == (ssize_t)sizeof(*st) && st->magic == KSMP_STATE_MAGIC &&
		    st->version == KSMP_STATE_VERSION && st->size >= sizeof(*st) &&
		    st->pid == pid)
			return st;
		free(st);
	}
	return NULL;
}

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* Sum of ksm_merging_pages; *res gets the sum of resident pages (statm),
 * so that a workload still filling its memory is not taken as settled. */
static long long sum_merging(struct inst *in, int n, long long *res)
{
	long long s = 0;
	*res = 0;
	for (int i = 0; i < n; i++) {
		if (in[i].exited)
			continue;
		long long v = ksm_stat(in[i].pid, "ksm_merging_pages");
		if (v > 0)
			s += v;
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/statm", (int)in[i].pid);
		char *t = read_text(path, NULL);
		unsigned long long size, rss;
		if (t && sscanf(t, "%llu %llu", &size, &rss) == 2)
			*res += (long long)rss;
		free(t);
	}
	return s;
}

static void reap(struct inst *in, int n)
{
	for (int i = 0; i < n; i++) {
		if (in[i].exited)
			continue;
		int status;
		if (waitpid(in[i].pid, &status, WNOHANG) == in[i].pid)
			in[i].exited = true;
	}
}

/* Wait for the plateau, --settle seconds, Enter or SIGINT. */
static void settle(struct inst *in, int n, double settle_s, bool quiet)
{
	double t0 = now_s(), last_change = t0;
	long long fs0 = full_scans(), last = -1, last_res = -1;
	bool tty = isatty(0);
	if (!quiet)
		fprintf(stderr, "ksmpreload profile: %d instance(s) running; %s\n", n,
			settle_s > 0 ? "waiting the settle time (Ctrl-C or Enter to stop early)" :
			"waiting for the savings to plateau (Ctrl-C or Enter to stop early)");
	while (!interrupted) {
		struct pollfd p = { .fd = 0, .events = POLLIN };
		if (poll(&p, tty ? 1 : 0, 250) > 0 && tty) {
			char line[256];
			if (!fgets(line, sizeof(line), stdin) || line[0])
				break;
		}
		reap(in, n);
		int alive = 0;
		for (int i = 0; i < n; i++)
			alive += !in[i].exited;
		if (!alive)
			break;
		double t = now_s();
		if (settle_s > 0) {
			if (t - t0 >= settle_s)
				break;
			continue;
		}
		long long res;
		long long s = sum_merging(in, n, &res);
		long long dres = res > last_res ? res - last_res : last_res - res;
		if (s != last || dres * 200 > res) {	/* 0.5% */
			last = s;
			last_res = res;
			last_change = t;
			fs0 = full_scans();
		}
		long long fs = full_scans();
		/* a page needs two passes: settled when nothing changed for 2 s
		 * and for 3 full scans */
		if (fs >= 0 && fs - fs0 >= 3 && t - last_change >= 2.0)
			break;
		if (t - t0 >= DEFAULT_MAX_WAIT)
			break;
	}
}

static void stop_all(struct inst *in, int n)
{
	for (int i = 0; i < n; i++)
		if (!in[i].exited)
			kill(-in[i].pid, SIGTERM), kill(in[i].pid, SIGTERM);
	double t0 = now_s();
	for (;;) {
		reap(in, n);
		int alive = 0;
		for (int i = 0; i < n; i++)
			alive += !in[i].exited;
		if (!alive)
			return;
		if (now_s() - t0 > 2.0)
			break;
		usleep(20000);
	}
	for (int i = 0; i < n; i++)
		if (!in[i].exited) {
			kill(-in[i].pid, SIGKILL);
			kill(in[i].pid, SIGKILL);
			waitpid(in[i].pid, NULL, 0);
			in[i].exited = true;
		}
}

/* ------------------------------------------------------------------ join */
#define PM_PRESENT	(1ull << 63)
#define PM_PFN_MASK	((1ull << 55) - 1)
#define KPF_KSM_BIT	21

/* Exact figures for [lo, hi): bytes present and bytes on KSM pages, from
 * pagemap PFNs and kpageflags (root only: otherwise PFNs read as 0 and
 * this returns -EPERM, and the caller shares out smaps figures). */
static int exact_pages(int pm, int kpf, uint64_t lo, uint64_t hi,
		       uint64_t *merged, uint64_t *rss)
{
	if (pm < 0 || kpf < 0)
		return -EPERM;
	long psz = sysconf(_SC_PAGESIZE);
	uint64_t ent[512];
	*merged = *rss = 0;
	for (uint64_t a = lo; a < hi;) {
		size_t cnt = (size_t)((hi - a) / (uint64_t)psz);
		if (cnt > 512)
			cnt = 512;
		if (!cnt)
			break;
		ssize_t n = pread(pm, ent, cnt * 8, (off_t)(a / (uint64_t)psz * 8));
		if (n <= 0)
			return -EIO;
		cnt = (size_t)n / 8;
		for (size_t i = 0; i < cnt; i++) {
			if (!(ent[i] & PM_PRESENT))
				continue;
			uint64_t pfn = ent[i] & PM_PFN_MASK, fl;
			if (!pfn)
				return -EPERM;
			*rss += (uint64_t)psz;
			if (pread(kpf, &fl, 8, (off_t)(pfn * 8)) == 8 &&
			    (fl >> KPF_KSM_BIT) & 1)
				*merged += (uint64_t)psz;
		}
		a += cnt * (uint64_t)psz;
	}
	return 0;
}

static void join_instance(struct inst *ins, struct origins *os)
{
	struct vmas sm = { 0 };
	if (read_vmas(ins->pid, "smaps", &sm) < 0)
		return;
	struct ksmp_state *st = read_state(ins->pid, &sm);
	if (!st) {
		vmas_free(&sm);
		return;
	}
	ins->merging = ksm_stat(ins->pid, "ksm_merging_pages");
	ins->rmap = ksm_stat(ins->pid, "ksm_rmap_items");
	ins->profit = ksm_stat(ins->pid, "ksm_process_profit");
	ins->read_ok = true;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)ins->pid);
	int pm = open(path, O_RDONLY | O_CLOEXEC);
	int kpf = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	uint32_t nr = st->nregions_hint;
	if (nr > KSMP_STATE_REGIONS)
		nr = KSMP_STATE_REGIONS;
	for (uint32_t i = 0; i < nr; i++) {
		const struct ksmp_region *r = &st->regions[i];
		if ((r->seq & 1) || r->state != KSMP_REGION_MERGEABLE || !r->len)
			continue;
		char obj[KSMP_STATE_CALLER_MAX], site[224];
		memcpy(obj, r->caller, sizeof(obj));
		obj[sizeof(obj) - 1] = '\0';
		resolve_pc(&sm, r->caller_pc, obj, sizeof(obj), site, sizeof(site));
		struct origin *o = origin_get(os, r->kind, obj, site);
		if (!o)
			continue;
		uint64_t lo = r->start, hi = r->start + r->len;
		double merged = 0, rss = 0;
		uint64_t em, er;
		if (exact_pages(pm, kpf, lo, hi, &em, &er) == 0) {
			merged = (double)em;
			rss = (double)er;
		} else {
			for (size_t k = 0; k < sm.n; k++) {
				const struct vma *v = &sm.v[k];
				if (v->hi <= lo || v->lo >= hi)
					continue;
				uint64_t a = v->lo > lo ? v->lo : lo;
				uint64_t b = v->hi < hi ? v->hi : hi;
				double share = (double)(b - a) / (double)(v->hi - v->lo);
				merged += share * (double)v->ksm_kb * 1024.0;
				rss += share * (double)v->rss_kb * 1024.0;
			}
			ins->estimated = true;
		}
		o->advised += r->len;
		o->merged += (uint64_t)merged;
		o->rss += (uint64_t)rss;
		o->regions++;
		ins->advised += r->len;
	}
	if (pm >= 0)
		close(pm);
	if (kpf >= 0)
		close(kpf);
	free(st);
	vmas_free(&sm);
}

/* ---------------------------------------------------------------- output */
static void human(char *buf, size_t sz, uint64_t b)
{
	if (b >= (1ull << 30))
		snprintf(buf, sz, "%.1fG", b / (double)(1ull << 30));
	else if (b >= (1ull << 20))
		snprintf(buf, sz, "%.1fM", b / (double)(1ull << 20));
	else if (b >= 1024)
		snprintf(buf, sz, "%.0fK", b / 1024.0);
	else
		snprintf(buf, sz, "%" PRIu64, b);
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void origin_label(const struct origin *o, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s!%s", o->obj[0] ? o->obj : "-",
		 o->func[0] ? o->func : "-");
}

static void report_text(FILE *f, const struct origins *os,
			const struct inst *in, int n)
{
	uint64_t ta = 0, tr = 0, tm = 0;
	fprintf(f, "%-6s %-60s %9s %9s %9s %8s\n", "KIND", "ORIGIN", "ADVISED",
		"RSS", "MERGED", "COST");
	for (size_t i = 0; i < os->n; i++) {
		const struct origin *o = &os->o[i];
		char lab[300], a[16], r[16], m[16], c[24];
		origin_label(o, lab, sizeof(lab));
		human(a, sizeof(a), o->advised);
		human(r, sizeof(r), o->rss);
		human(m, sizeof(m), o->merged);
		if (o->merged)
			snprintf(c, sizeof(c), "%.1f%s", cost_of(o->rss, o->merged),
				 productive(o->rss, o->merged) ? "" : "!");
		else
			snprintf(c, sizeof(c), "inf!");
		fprintf(f, "%-6s %-60s %9s %9s %9s %8s\n",
			ksmp_kind_name((enum ksmp_kind)o->kind), lab, a, r, m, c);
		ta += o->advised;
		tr += o->rss;
		tm += o->merged;
	}
	char a[16], r[16], m[16];
	human(a, sizeof(a), ta);
	human(r, sizeof(r), tr);
	human(m, sizeof(m), tm);
	fprintf(f, "%-6s %-60s %9s %9s %9s %8.1f\n", "total", "", a, r, m,
		tm ? cost_of(tr, tm) : 0.0);
	fprintf(f, "\nADVISED = bytes marked MADV_MERGEABLE; RSS = their present bytes (what "
		"ksmd scans,\none rmap_item per page); MERGED = bytes on KSM pages; COST = RSS "
		"pages per merged\npage ('!': above %d, the kernel's give-up hint, or nothing "
		"merged).\n", COST_LIMIT);
	for (int i = 0; i < n; i++)
		if (in[i].estimated) {
			fprintf(f, "MERGED is estimated (smaps KSM: shared out by length over "
				"the regions of each VMA): run as root for exact page figures.\n");
			break;
		}
	fprintf(f, "%-8s %16s %16s %16s %12s\n", "PID", "merging_pages",
		"rmap_items", "process_profit", "advised");
	for (int i = 0; i < n; i++) {
		if (!in[i].read_ok) {
			fprintf(f, "%-8d (not read: exited or no state block)\n", (int)in[i].pid);
			continue;
		}
		human(a, sizeof(a), in[i].advised);
		fprintf(f, "%-8d %16lld %16lld %16lld %12s\n", (int)in[i].pid,
			in[i].merging, in[i].rmap, in[i].profit, a);
	}
}

static void report_json(FILE *f, const struct origins *os, const struct inst *in,
			int n, const char *policy)
{
	uint64_t ta = 0, tm = 0;
	fprintf(f, "{\n  \"origins\": [");
	for (size_t i = 0; i < os->n; i++) {
		const struct origin *o = &os->o[i];
		fprintf(f, "%s\n    {\"kind\": \"%s\", \"object\": ", i ? "," : "",
			ksmp_kind_name((enum ksmp_kind)o->kind));
		json_str(f, o->obj);
		fprintf(f, ", \"function\": ");
		json_str(f, o->func);
		fprintf(f, ", \"site\": ");
		json_str(f, o->site);
		fprintf(f, ", \"regions\": %" PRIu64 ", \"advised\": %" PRIu64
			", \"rss\": %" PRIu64 ", \"merged\": %" PRIu64
			", \"cost\": %.2f, \"productive\": %s}",
			o->regions, o->advised, o->rss, o->merged,
			o->merged ? cost_of(o->rss, o->merged) : -1.0,
			productive(o->rss, o->merged) ? "true" : "false");
		ta += o->advised;
		tm += o->merged;
	}
	fprintf(f, "\n  ],\n  \"total\": {\"advised\": %" PRIu64 ", \"merged\": %" PRIu64 "},\n",
		ta, tm);
	fprintf(f, "  \"processes\": [");
	for (int i = 0; i < n; i++)
		fprintf(f, "%s\n    {\"pid\": %d, \"read\": %s, \"exact\": %s, "
			"\"ksm_merging_pages\": %lld, \"ksm_rmap_items\": %lld, "
			"\"ksm_process_profit\": %lld}",
			i ? "," : "", (int)in[i].pid, in[i].read_ok ? "true" : "false",
			in[i].read_ok && !in[i].estimated ? "true" : "false",
			in[i].merging, in[i].rmap, in[i].profit);
	fprintf(f, "\n  ]");
	if (policy) {
		fprintf(f, ",\n  \"policy\": ");
		json_str(f, policy);
	}
	fprintf(f, "\n}\n");
}

/* Per (kind, object) aggregate, the unit a policy rule can express. */
struct group {
	int kind;
	const char *obj;
	uint64_t advised, rss, merged;
	bool done;
};

static int append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return -1;
		if ((size_t)n < *cap - *len) {
			*len += (size_t)n;
			return 0;
		}
		size_t nc = *cap * 2 + (size_t)n;
		char *nb = realloc(*buf, nc);
		if (!nb)
			return -1;
		*buf = nb;
		*cap = nc;
	}
}

static bool glob_safe(const char *s)
{
	for (; *s; s++)
		if (isspace((unsigned char)*s) || strchr("*?[]\\#,=", *s))
			return false;
	return true;
}

static char *suggest_policy(const struct origins *os, const char *cmd, int ninst)
{
	size_t len = 0, cap = 4096;
	char *p = malloc(cap);
	if (!p)
		return NULL;
	p[0] = '\0';
	struct group *g = calloc(os->n ? os->n : 1, sizeof(*g));
	size_t ng = 0;
	for (size_t i = 0; g && i < os->n; i++) {
		const struct origin *o = &os->o[i];
		size_t k;
		for (k = 0; k < ng; k++)
			if (g[k].kind == o->kind && !strcmp(g[k].obj, o->obj))
				break;
		if (k == ng) {
			g[ng].kind = o->kind;
			g[ng].obj = o->obj;
			ng++;
		}
		g[k].advised += o->advised;
		g[k].rss += o->rss;
		g[k].merged += o->merged;
	}
	append(&p, &len, &cap,
	       "# Suggested by `ksmpreload profile` from %d instance(s) of %s.\n"
	       "# Origins that KSM merged at a scan cost of at most %d present pages per\n"
	       "# merged page are merged; everything else matches no rule and is not merged.\n",
	       ninst, base(cmd), COST_LIMIT);
	append(&p, &len, &cap, "name      %s-profiled\n", glob_safe(base(cmd)) ? base(cmd) : "program");
	if (glob_safe(base(cmd)))
		append(&p, &len, &cap, "program   %s\n", base(cmd));
	append(&p, &len, &cap, "mode      regions\nlog       error\nstrict    no\ncontrol   yes\n"
	       "heap-step 8M\n\n%s", crypto_skips);
	/* rules with a caller first (skips, then merges by merged bytes), then
	 * the kinds whose regions have no known caller (heap, arenas). */
	for (int pass = 0; pass < 3 && g; pass++) {
		for (;;) {
			struct group *best = NULL;
			for (size_t k = 0; k < ng; k++) {
				struct group *x = &g[k];
				bool prod = productive(x->rss, x->merged);
				bool callered = x->obj[0] && glob_safe(x->obj);
				if (x->done || (pass == 0 && (!callered || prod)) ||
				    (pass == 1 && (!callered || !prod)) ||
				    (pass == 2 && callered))
					continue;
				if (!best || x->merged > best->merged)
					best = x;
			}
			if (!best)
				break;
			best->done = true;
			const char *kn = ksmp_kind_name((enum ksmp_kind)best->kind);
			bool prod = productive(best->rss, best->merged);
			char a[16], m[16];
			human(a, sizeof(a), best->advised);
			human(m, sizeof(m), best->merged);
			append(&p, &len, &cap, "\n# %s from %s: %s advised, %s merged, cost %.1f "
			       "present pages per merged page\n",
			       kn, best->obj[0] ? best->obj : "(no caller)", a, m,
			       cost_of(best->rss, best->merged));
			for (size_t i = 0; i < os->n; i++) {
				const struct origin *o = &os->o[i];
				if (o->kind != best->kind || strcmp(o->obj, best->obj))
					continue;
				human(a, sizeof(a), o->advised);
				human(m, sizeof(m), o->merged);
				append(&p, &len, &cap, "#   %s: %s advised, %s merged\n",
				       o->func[0] ? o->func : "(unknown function)", a, m);
			}
			if (best->obj[0])
				append(&p, &len, &cap, "# (the policy language has no function "
				       "condition: this rule covers every function of %s)\n",
				       best->obj);
			if (pass == 2 && best->obj[0] && prod) {
				/* an object name a glob cannot carry safely: by kind */
				append(&p, &len, &cap, "merge %s\n", kn);
			} else if (pass == 2 && !prod) {
				append(&p, &len, &cap, "# not merged (no rule needed)\n");
			} else if (pass == 2) {
				append(&p, &len, &cap, "merge %s\n", kn);
			} else {
				append(&p, &len, &cap, "%s %s caller=%s\n",
				       prod ? "merge" : "skip ", kn, best->obj);
			}
		}
	}
	free(g);
	return p;
}

struct diagctx {
	int n;
};

static void diag_cb(void *ctx, const char *file, unsigned line, const char *msg)
{
	struct diagctx *d = ctx;
	d->n++;
	fprintf(stderr, "ksmpreload profile: suggested policy %s:%u: %s\n",
		file ? file : "-", line, msg);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ksmpreload profile [-o POLICY] [-n N] [--settle SECONDS] [--json]\n"
		"                          [--report FILE] -- COMMAND [ARG]...\n"
		"\n"
		"Run N instances of COMMAND under libksmpreload.so, recording where every\n"
		"advised region came from; after the savings plateau (or SECONDS, or Enter,\n"
		"or Ctrl-C) report per origin what KSM merged and suggest a policy.\n"
		"\n"
		"  -n, --instances N   instances to run at once (default 1)\n"
		"  -o, --output FILE   write the suggested policy to FILE (default: stdout,\n"
		"                      after the report)\n"
		"      --settle S      wait S seconds instead of for the plateau\n"
		"      --report FILE   write the report to FILE (default stdout)\n"
		"      --json          report as JSON\n"
		"  -h, --help          show this help\n");
}

int ksmp_cmd_profile(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "instances", required_argument, NULL, 'n' },
		{ "settle", required_argument, NULL, 's' },
		{ "report", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out_path = NULL, *report_path = NULL;
	int ninst = 1;
	double settle_s = 0;
	bool json = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+o:n:h", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'o':
			out_path = optarg;
			break;
		case 'n':
			ninst = (int)strtol(optarg, &end, 10);
			if (*end || ninst < 1 || ninst > MAX_INST) {
				fprintf(stderr, "ksmpreload profile: -n: 1 to %d\n", MAX_INST);
				return 2;
			}
			break;
		case 's':
			settle_s = strtod(optarg, &end);
			if (*end || !(settle_s > 0) || settle_s > 86400) {
				fprintf(stderr, "ksmpreload profile: --settle: seconds > 0\n");
				return 2;
			}
			break;
		case 'r':
			report_path = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	char **cmd = argv + optind;

	char lib[PATH_MAX];
	if (ksmp_find_library(lib, sizeof(lib)) < 0)
		return 1;
	if (elf_version(EV_CURRENT) == EV_NONE) {
		fprintf(stderr, "ksmpreload profile: libelf: %s\n", elf_errmsg(-1));
		return 1;
	}
	const char *tmpdir = getenv("TMPDIR");
	char ppath[PATH_MAX];
	snprintf(ppath, sizeof(ppath), "%s/ksmpreload-profile-XXXXXX",
		 tmpdir && *tmpdir ? tmpdir : "/tmp");
	int pfd = mkstemp(ppath);
	if (pfd < 0 || write(pfd, recording_policy, sizeof(recording_policy) - 1) !=
			       (ssize_t)(sizeof(recording_policy) - 1)) {
		fprintf(stderr, "ksmpreload profile: %s: %s\n", ppath, strerror(errno));
		if (pfd >= 0) {
			close(pfd);
			unlink(ppath);
		}
		return 1;
	}
	close(pfd);
	/* environment of the instances */
	const char *old = getenv("LD_PRELOAD");
	char *pre = NULL;
	if (old && *old && !strstr(old, lib)) {
		pre = malloc(strlen(old) + strlen(lib) + 2);
		if (pre)
			sprintf(pre, "%s:%s", old, lib);
	} else {
		pre = strdup(old && *old ? old : lib);
	}
	if (!pre || setenv("LD_PRELOAD", pre, 1) || setenv("KSMP_POLICY", ppath, 1) ||
	    setenv("KSMP_PROFILE", "1", 1)) {
		free(pre);
		unlink(ppath);
		fprintf(stderr, "ksmpreload profile: cannot set the environment\n");
		return 1;
	}
	free(pre);
	unsetenv("KSMP_POLICY_DIR");

	struct sigaction sa = { .sa_handler = on_sigint };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	struct inst in[MAX_INST];
	memset(in, 0, sizeof(in));
	int started = 0;
	fflush(NULL);
	for (int i = 0; i < ninst; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			fprintf(stderr, "ksmpreload profile: fork: %s\n", strerror(errno));
			break;
		}
		if (pid == 0) {
			/* own process group: the terminal's Ctrl-C is ours to handle */
			setpgid(0, 0);
			signal(SIGINT, SIG_DFL);
			signal(SIGTERM, SIG_DFL);
			/* keep our standard output for the report and policy */
			if (!report_path || !out_path)
				dup2(2, 1);
			int nul = open("/dev/null", O_RDONLY);
			if (nul >= 0 && nul != 0) {
				dup2(nul, 0);
				close(nul);
			}
			execvp(cmd[0], cmd);
			fprintf(stderr, "ksmpreload profile: %s: %s\n", cmd[0], strerror(errno));
			_exit(errno == ENOENT ? 127 : 126);
		}
		setpgid(pid, pid);
		in[started++].pid = pid;
	}
	if (!started) {
		unlink(ppath);
		return 1;
	}
	settle(in, started, settle_s, json && !report_path);
	reap(in, started);

	struct origins os = { 0 };
	for (int i = 0; i < started; i++)
		if (!in[i].exited)
			join_instance(&in[i], &os);
	stop_all(in, started);
	unlink(ppath);
	int nread = 0;
	for (int i = 0; i < started; i++)
		nread += in[i].read_ok;
	if (!nread) {
		fprintf(stderr, "ksmpreload profile: no instance could be read (did %s "
			"exit before the settle time, or not load the library?)\n", cmd[0]);
		free(os.o);
		elf_cache_free();
		return 1;
	}
	qsort(os.o, os.n, sizeof(*os.o), by_merged);

	int rc = 0;
	char *policy = suggest_policy(&os, cmd[0], nread);
	struct ksmp_policy *chk = calloc(1, sizeof(*chk));
	struct diagctx dc = { 0 };
	if (!policy || !chk ||
	    ksmp_policy_parse(chk, "suggested", policy, strlen(policy), diag_cb, &dc) != 0) {
		fprintf(stderr, "ksmpreload profile: the suggested policy does not parse\n");
		rc = 1;
	}
	free(chk);

	FILE *rf = stdout;
	if (report_path && !(rf = fopen(report_path, "w"))) {
		fprintf(stderr, "ksmpreload profile: %s: %s\n", report_path, strerror(errno));
		rf = stdout;
		rc = 1;
	}
	bool policy_in_json = json && !out_path && rf == stdout;
	if (json)
		report_json(rf, &os, in, started, policy_in_json && !rc ? policy : NULL);
	else
		report_text(rf, &os, in, started);
	if (rf != stdout && fclose(rf) != 0)
		rc = 1;
	if (!rc && policy && !policy_in_json) {
		if (out_path) {
			FILE *pf = fopen(out_path, "w");
			if (!pf || fputs(policy, pf) < 0 || fclose(pf) != 0) {
				fprintf(stderr, "ksmpreload profile: %s: %s\n", out_path,
					strerror(errno));
				rc = 1;
			}
		} else {
			printf("\n%s", policy);
		}
	}
	free(policy);
	free(os.o);
	elf_cache_free();
	return rc;
}
