/*
 * profile.h - `ksmpreload profile [-o POLICY] [-n N] [--settle S] [--json]
 * [--report FILE] -- COMMAND [ARG]...`: run N instances of a command under
 * the library with a recording policy, let KSM settle, then join what the
 * library advised (its region table: kind, rule, caller object and calling
 * PC) with what KSM merged per mapping and write a report per origin plus
 * a suggested policy that merges the productive origins.
 *
 * Origin = (kind, calling object, calling function). The function comes
 * from the calling PC the library records when KSMP_PROFILE=1, resolved
 * with libelf against the object's .symtab (else .dynsym), static
 * functions included.
 *
 * The state blocks are read through /proc/PID/mem at the address of the
 * "/memfd:ksmpreload-state" mapping: the instances are our children, so
 * this needs no privilege beyond ptrace access to them. Merged bytes of a
 * region are exact as root (pagemap PFNs + kpageflags), else its share of
 * the KSM kB of every VMA it overlaps (by length).
 *
 * Never: leave the instances running (they are ended with SIGTERM, then
 * SIGKILL), or write the policy before it parsed cleanly.
 *
 * Files: main.c (options, the run), instances.c (waiting, stopping),
 * maps.c (smaps), symbols.c (ELF symbols), join.c (state block x KSM
 * state), origins.c (totals and scan cost), report.c, suggest.c.
 */
#ifndef KSMP_PROFILE_H
#define KSMP_PROFILE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "ksmp_state.h"

#define COST_LIMIT	64	/* rmap_items per merged page: give up beyond */
#define MAX_INST	64
#define DEFAULT_MAX_WAIT 300	/* seconds, when no --settle is given */

/* Crypto libraries' memory stays apart: the first rules of the recording
 * policy and of every suggested one. */
#define PROF_CRYPTO_SKIPS \
	"skip  any caller=libcrypto.so* caller=libssl*.so* caller=libgcrypt.so* " \
	"caller=libsodium.so* caller=libgnutls*.so* caller=libnettle.so* " \
	"caller=libhogweed.so* caller=libmbed*.so*\n" \
	"skip  any caller=libnss3.so* caller=libnssutil3.so* caller=libsoftokn3.so* " \
	"caller=libfreebl*.so* caller=libsmime3.so* caller=libwolfssl.so* " \
	"caller=libk5crypto.so* caller=libbotan*.so*\n"

struct vma {
	uint64_t lo, hi, off;
	uint64_t rss_kb, ksm_kb;
	char *path;		/* NULL for anonymous */
};

struct vmas {
	struct vma *v;
	size_t n, cap;
};

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

struct inst {
	pid_t pid;
	bool exited, read_ok;
	int status;		/* wait status, once exited */
	bool estimated;		/* merged bytes shared out from smaps per VMA */
	long long merging, rmap, profit;
	uint64_t advised;
};

/* maps.c */
int prof_read_vmas(pid_t pid, const char *file, struct vmas *m);
void prof_vmas_free(struct vmas *m);
const char *prof_base(const char *p);

/* symbols.c */
void prof_resolve_pc(const struct vmas *maps, uint64_t pc, char *obj,
		     size_t objsz, char *out, size_t outsz);
void prof_elf_cache_free(void);

/* dwarf.c (built with libdw only): the function (DW_TAG_subprogram)
 * containing the link-time address at, from the DWARF of the debug file
 * path, opened into *dw on first use; its name and entry address. 0, or
 * -1 when there is none. prof_dwarf_close(*dw) at the end. */
#ifdef HAVE_LIBDW
int prof_dwarf_func(void **dw, const char *path, uint64_t at, char *name,
		    size_t namesz, uint64_t *entry);
void prof_dwarf_close(void *dw);
#endif

/* origins.c */
struct origin *prof_origin_get(struct origins *os, int kind, const char *obj,
			       const char *site);
double prof_cost_of(uint64_t present, uint64_t merged);
bool prof_productive(uint64_t present, uint64_t merged);
int prof_by_merged(const void *a, const void *b);

/* instances.c */
extern volatile sig_atomic_t prof_interrupted;
void prof_on_sigint(int sig);
long long prof_ksm_stat(pid_t pid, const char *key);
void prof_reap(struct inst *in, int n);
void prof_settle(struct inst *in, int n, double settle_s, bool quiet);
void prof_stop_all(struct inst *in, int n);

/* join.c */
void prof_join_instance(struct inst *ins, struct origins *os);

/* report.c */
void prof_human(char *buf, size_t sz, uint64_t b);
void prof_report_text(FILE *f, const struct origins *os,
		      const struct inst *in, int n);
void prof_report_json(FILE *f, const struct origins *os, const struct inst *in,
		      int n, const char *policy);

/* suggest.c */
char *prof_suggest_policy(const struct origins *os, const char *cmd, int ninst);

#endif
