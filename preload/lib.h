/*
 * lib.h - internal interfaces between the parts of libksmpreload.so.
 *
 * Layers, bottom up:
 *   symbols.c  the real functions (dlsym RTLD_NEXT), bootstrap allocator
 *   log.c      write(2)-only logging with a tiny formatter
 *   state.c    the published state block (memfd), counters, fork handling
 *   regions.c  the region table inside the state block
 *   caller.c   return address -> calling object's basename
 *   engine.c   the decisions: what to advise, heap/arena/chunk tracking,
 *              implements engine.h
 *   crypto.c, heap.c   malloc calls of crypto libraries, served apart
 *   malloc.c, mmap.c, thread.c   the interposers
 *   early.c    mmaps made before the engine started, judged at its start
 *   init.c     the constructor
 *
 * Error convention: internal functions return 0 or -errno. Interposers
 * return exactly what the real call returned and leave errno as it left
 * it. Nothing in a hot path allocates, uses stdio or takes a lock that
 * re-entry could deadlock on.
 */
#ifndef KSMP_LIB_H
#define KSMP_LIB_H

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "ksmp_state.h"
#include <signal.h>
#include <sys/uio.h>

#include "policy.h"

/* Everything declared below is the library's own: hidden, so that each
 * use of a variable is one RIP-relative access, not a load of its
 * address from the GOT first (the malloc fast path reads several). */
#pragma GCC visibility push(hidden)

#define KSMP_EXPORT __attribute__((visibility("default")))
#define KSMP_TLS __thread __attribute__((tls_model("initial-exec")))
#define KSMP_LIKELY(x) __builtin_expect(!!(x), 1)
#define KSMP_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* A slow path kept out of the fast path's code (and its frame). */
#define KSMP_COLD __attribute__((noinline, cold))
/*
 * Large zero-initialised arrays (a KiB and more): placed after every
 * small variable, so that the small ones share the one or two pages of
 * .data/.bss the loader touches anyway (relocations, the partial page it
 * clears) instead of each costing a page fault of its own at start
 * (about 1 us each on a VM). On x86-64 the linker puts .lbss after .bss
 * in the same segment; elsewhere the arrays stay where they were. GCC
 * only: clang (14) makes a section of that name PROGBITS, a megabyte of
 * zeros in the file. Not under ASan: it puts no redzones around globals
 * in a section named by the program, so overflows of these arrays would
 * go unseen (tests/preload/sections.sh checks both).
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
	!defined(__SANITIZE_ADDRESS__)
#define KSMP_BIG __attribute__((section(".lbss")))
#else
#define KSMP_BIG
#endif

/* ------------------------------------------------------------ symbols.c */
struct ksmp_real {
	void *(*malloc)(size_t);
	void (*free)(void *);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void *(*reallocarray)(void *, size_t, size_t);
	void *(*memalign)(size_t, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	size_t (*malloc_usable_size)(void *);
	void *(*mmap)(void *, size_t, int, int, int, off_t);
	void *(*mmap64)(void *, size_t, int, int, int, off64_t);
	int (*munmap)(void *, size_t);
	void *(*mremap)(void *, size_t, size_t, int, ...);
	int (*brk)(void *);
	void *(*sbrk)(intptr_t);
	int (*pthread_create)(pthread_t *, const pthread_attr_t *,
			      void *(*)(void *), void *);
	int (*dlclose)(void *);
	int (*register_atfork)(void (*)(void), void (*)(void), void (*)(void), void *);
	int (*pause)(void);
	int (*sigsuspend)(const sigset_t *);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*writev)(int, const struct iovec *, int);
	long (*syscall)(long, ...);
	int (*mallopt)(int, int);
	void *libc_malloc;	/* glibc's own malloc, to recognise it */
};
extern struct ksmp_real ksmp_real;
extern volatile int ksmp_resolved;

/* Look every real function up (idempotent, safe to race). */
void ksmp_symbols_resolve(void);
/* The next definition of name after the library (dlsym RTLD_NEXT, its
 * allocations served by the bootstrap pool), looked up once into *cache:
 * for interposers that are called rarely (prctl, chroot). NULL if none. */
void *ksmp_real_lazy(void **cache, const char *name);
/* prctl for the library's own calls: through syscall(), whose real
 * function is resolved at start, not the prctl interposer (state.c),
 * which may look the next one up (never in the control signal's
 * handler). */
static inline int ksmp_prctl(int option, unsigned long arg)
{
	return (int)syscall(SYS_prctl, option, arg, 0ul, 0ul, 0ul);
}
/* The page size: the loader's AT_PAGESZ, which sysconf(_SC_PAGESIZE)
 * returns too (getauxval is bound at start already; sysconf's code is a
 * page of libc's to fault in). */
static inline uintptr_t ksmp_pagesize(void)
{
	unsigned long p = getauxval(AT_PAGESZ);
	return p ? (uintptr_t)p : (uintptr_t)sysconf(_SC_PAGESIZE);
}
static inline void ksmp_need_real(void)
{
	if (KSMP_UNLIKELY(!ksmp_resolved))
		ksmp_symbols_resolve();
}
/* Write a, what and b to stderr with write(2), then abort. */
__attribute__((noreturn))
void ksmp_die(const char *a, const char *what, const char *b);
/* True while this thread is inside dlsym: allocations come from the pool. */
bool ksmp_in_dlsym(void);
void *ksmp_pool_alloc(size_t size, size_t align);
bool ksmp_pool_owns(const void *p);
size_t ksmp_pool_size(const void *p);

/* ---------------------------------------------------------------- log.c */
extern int ksmp_loglevel;	/* enum ksmp_loglevel */
void ksmp_logf(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Format into buf (subset of printf: %s %d %u %ld %lu %zu %x %lx %p %c %%
 * and %-Ns); always NUL-terminates; returns the length. */
size_t ksmp_vfmt(char *buf, size_t size, const char *fmt, __builtin_va_list ap);
size_t ksmp_fmt(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* -------------------------------------------------------------- state.c */
/*
 * The block in use, never NULL: every use goes through ksmp_st_ref(),
 * which first checks that the block is mapped in this process. A child
 * made without the library's fork handlers (_Fork, syscall(SYS_fork),
 * clone without CLONE_VM) inherits the pointer but not the block
 * (MADV_DONTFORK): ksmp_st_mapped points into a MADV_WIPEONFORK page
 * that reads 0 there, and the first use rebuilds the child's state
 * (ksmp_state_orphan: the private block, no region records).
 */
extern struct ksmp_state *ksmp_st_;
extern const volatile int *ksmp_st_mapped;	/* 1: ksmp_st_ is mapped here */
void ksmp_state_orphan(void);
static inline struct ksmp_state **ksmp_st_ref(void)
{
	if (KSMP_UNLIKELY(*ksmp_st_mapped != 1))
		ksmp_state_orphan();
	return &ksmp_st_;
}
#define ksmp_st (*ksmp_st_ref())
int ksmp_state_publish(void);		/* create the memfd block */
/* Or make it (and start the control agent on it) when first needed:
 * ksmp_state_need(), before each advice, makes it the first time. */
void ksmp_state_defer(void);
void ksmp_state_need(void);
/* The control agent on the published block, if the policy allows control
 * (a failure is logged, never fatal): at start, or when the block is made. */
void ksmp_state_start_agent(void);
/* init.c: the built-in default's text into st (the deferred block's). */
void ksmp_state_builtin_text(struct ksmp_state *st);
void ksmp_state_fill_identity(void);
void ksmp_state_count_error(int err);	/* madvise/prctl failure */
void ksmp_state_set_flag(uint32_t f);
void ksmp_state_clear_flag(uint32_t f);
void ksmp_state_head_kept(void);	/* engine, mode, merge_state written */
/* fork: the parent snapshots its block (prepare) into a buffer of its
 * own fork (KSMP_SNAP_* when it takes none), which the parent handler
 * releases; the child maps a block of its own from that snapshot, true
 * when it has one (a shared block, not the private fallback). Without a
 * snapshot (KSMP_SNAP_NONE: none free, or a child the handlers did not
 * see) the child keeps the private block with no region records. The
 * order of the after-fork steps is init.c's (ksmp_child_reset). */
#define KSMP_SNAP_PRIVATE (-1)	/* the private block: nothing to copy */
#define KSMP_SNAP_NONE (-2)	/* a block, but no snapshot of it */
int ksmp_state_fork_prepare(void);
void ksmp_state_fork_release(int snap);
bool ksmp_state_after_fork(int snap);
void ksmp_child_reset(int snap, bool prepared);	/* init.c; keeps errno */
void ksmp_state_child_begin(void);
void ksmp_state_child_end(void);
/* The executable's path, known from start (read here only if asked for
 * before ksmp_self_exe_init; tmp: where to read it meanwhile). */
const char *ksmp_self_exe(char *tmp, size_t size);
/* At start: know it from now on (secure: privileged, see init.c). */
void ksmp_self_exe_init(bool secure);
/* start_brk from /proc/self/stat (0: unreadable). */
uint64_t ksmp_read_start_brk(void);

/* ------------------------------------------------------------ regions.c */
/* Record an advised range; coalesces with an adjacent record of the same
 * kind, rule and caller. Returns 0, or -ENOSPC when the table is full
 * (counted, flagged). */
int ksmp_regions_add(uintptr_t start, size_t len, int kind, int rule,
		     const char *caller, int state);
/* Same, also recording the calling PC (records with different PCs are
 * never coalesced). */
int ksmp_regions_add_pc(uintptr_t start, size_t len, int kind, int rule,
			const char *caller, uint64_t pc, int state);
/* Same, from a signal handler: -EBUSY instead of waiting for the lock. */
int ksmp_regions_add_nowait(uintptr_t start, size_t len, int kind, int rule,
			    const char *caller, int state);
/* The range [start, start+len) is gone (munmap, MAP_FIXED, free of an
 * mmapped chunk): drop or trim every record that intersects it. */
void ksmp_regions_forget(uintptr_t start, size_t len);
/* The same for the records of one kind only. */
void ksmp_regions_forget_kind(uintptr_t start, size_t len, int kind);
/* A part of a record, with what it was recorded with. */
/*
 * A range [old, oend) moved to [nw, nend) (mremap): where the part of a
 * record or note [lo, hi) inside the old range went, in [*ns, *ne). The
 * part that reaches the old range's end (hr, the page-rounded hi, at or
 * past oend) takes what the range grew by. False when it has no part
 * there (outside the old range, or shrunk away). regions.c, early.c.
 */
static inline bool ksmp_moved_part(uintptr_t lo, uintptr_t hi, uintptr_t hr,
				   uintptr_t old, uintptr_t oend, uintptr_t nw,
				   uintptr_t nend, uintptr_t *ns, uintptr_t *ne)
{
	if (hi <= old || lo >= oend)
		return false;
	uintptr_t os = lo > old ? lo : old, oe = hi < oend ? hi : oend;
	*ns = nw + (os - old);
	*ne = hr >= oend ? nend : nw + (oe - old);
	if (*ne > nend)
		*ne = nend;
	return *ns < *ne;
}
struct ksmp_piece {
	uintptr_t start, end;
	int kind, rule, state;
	uint64_t pc;
	char caller[KSMP_STATE_CALLER_MAX];
};
/* Forget [start, start+len) as ksmp_regions_forget does; the part of its
 * first record inside it in *kept (kept->end stays 0 when there is none),
 * for ksmp_regions_put_back. */
void ksmp_regions_take(uintptr_t start, size_t len, struct ksmp_piece *kept);
/* Record a part taken out again, as it was (not counted as a new region). */
void ksmp_regions_put_back(const struct ksmp_piece *kept);
/* mremap moved/resized [old, old+oldlen) to [new, new+newlen); kept:
 * the old range stays mapped (MREMAP_DONTUNMAP) and keeps its records. */
void ksmp_regions_moved(uintptr_t old, size_t oldlen, uintptr_t nw,
			size_t newlen, bool kept);
/* The length of the record of this kind that holds all of
 * [start, start+len), its state in *state; 0 when there is none. */
size_t ksmp_regions_holder(uintptr_t start, size_t len, int kind, int *state);
/* Does a record start exactly at start? */
bool ksmp_regions_has_start(uintptr_t start);
/* Quick test: could any record intersect [start, start+len)? */
bool ksmp_regions_maybe(uintptr_t start, size_t len);
/* Async-signal-safe walk used by the engine's unmerge/merge: calls fn for
 * each stable slot in state from_state that lies inside [lo, hi), and sets
 * it to to_state when fn returns 0 (or -ENOMEM: partly unmapped). Sets
 * *any when such a slot exists. Returns the first error fn returned. */
int ksmp_regions_walk(uintptr_t lo, uintptr_t hi, int from_state, int to_state,
		      int (*fn)(uintptr_t start, size_t len), bool *any);
/* Mode auto, from the control handler: for every record in state from
 * that intersects [lo, hi), call fn on the intersection and, when it
 * succeeds, split the record so that the intersection has state to
 * (joined with neighbours of the same owner and state). -EBUSY without
 * waiting when the table is locked; else the first error of fn, or
 * -ENOSPC when the table has no slot for a split. Sets *any when such a
 * record exists. */
int ksmp_regions_restate(uintptr_t lo, uintptr_t hi, int from, int to,
			 int (*fn)(uintptr_t start, size_t len), bool *any);
/* After fork: rebuild the private index from the (copied) state block. */
void ksmp_regions_after_fork(void);
/* Hold the table's lock: no record is being written meanwhile. */
void ksmp_regions_lock(void);
void ksmp_regions_unlock(void);

/* ------------------------------------------------------------- caller.c */
/* Basename of the object containing addr into buf ("" when unknown).
 * Lock-free reads; refreshes its cache when addr is in no known object and
 * objects were loaded since (dl_iterate_phdr). False when "" may be wrong:
 * the cache could not be refreshed (another thread at it, a fork). */
bool ksmp_caller_name(const void *addr, char *buf, size_t size);
void ksmp_caller_invalidate(void);	/* after dlclose */
/* Bumped by ksmp_caller_invalidate; the count is kept in bits 48-62
 * (0x7fff << 48), where crypto.c's verdict words hold it. */
#define KSMP_CALLER_EPOCH_SHIFT 48
#define KSMP_CALLER_EPOCH_MASK (0x7fffull << KSMP_CALLER_EPOCH_SHIFT)
extern uint64_t ksmp_caller_epoch;
void ksmp_caller_after_fork(void);
/* The basename of a loaded object (dlpi_name; "" is the executable). */
void ksmp_object_name(const char *dlpi_name, char *buf, size_t size);
/* The loader's counts of objects loaded and unloaded (dlpi_adds, subs). */
bool ksmp_loader_counters(unsigned long long c[2]);
/* dl_iterate_phdr(cb, data), the library's only way to call it; false
 * (cb not called) in a forked child that must not walk: one forked from
 * a process that had other threads (caller.c says why). The fork
 * handlers (init.c's) note and apply that. */
struct dl_phdr_info;
bool ksmp_loader_walk(int (*cb)(struct dl_phdr_info *, size_t, void *), void *data);
void ksmp_loader_fork_prepare(void);
/* In a forked child, first: true when a dlclose was under way at the
 * fork (ksmp_loader_closing(1) before the real dlclose, -1 once the
 * caches and data records were told). prepared: the prepare handler ran
 * for this fork (otherwise the child never walks: it cannot tell
 * whether the parent had other threads). */
bool ksmp_loader_fork_child(bool prepared);
void ksmp_loader_closing(int delta);

/* --------------------------------------------------------------- data.c */
/* The static data of loaded objects (kind data): advise the objects
 * loaded, and forget those unloaded, since the last call. Cheap when
 * nothing changed (one look at the loader's counters). Normal context
 * only (dl_iterate_phdr takes the loader's lock), never while holding the
 * region table's, the heap's or the arenas' lock. */
void ksmp_data_check(void);
void ksmp_data_unloaded(void);	/* after dlclose */
void ksmp_after_unload(void);	/* thread.c: caller cache and data records */
void ksmp_data_after_fork(void);

/* ------------------------------------------------------------- malloc.c */
bool ksmp_malloc_reached(void);	/* do malloc calls reach our malloc? */

/* ---------------------------------------------------- crypto.c, heap.c */
/* The crypto heap: malloc-family calls whose caller is a crypto library
 * are served from memory that is never advised MADV_MERGEABLE. */
#define KSMP_HEAP_VERDICTS 1024
extern bool ksmp_heap_on;		/* set once by ksmp_heap_enable */
extern uint64_t ksmp_heap_verdicts[KSMP_HEAP_VERDICTS];
/* Bounding box of the memory the library hands out itself: the crypto
 * heap's segments and the bootstrap pool's blocks (heap.c; lo only falls,
 * hi only rises). */
extern uintptr_t ksmp_own_lo, ksmp_own_hi;
/* Widen the box to hold [lo, hi) before a block there is handed out;
 * lock-free. */
void ksmp_own_add(uintptr_t lo, uintptr_t hi);
/* Switch segregation on (engine start, when merging may reach the heap). */
void ksmp_heap_enable(void);
bool ksmp_heap_crypto_slow(uintptr_t ret);
bool ksmp_heap_owns_slow(uintptr_t a);
/* Does [lo, hi) overlap the crypto heap? (Engines must not advise it.) */
bool ksmp_heap_overlaps(uintptr_t lo, uintptr_t hi);
/* MADV_UNMERGEABLE over the crypto heap again; async-signal-safe. Call
 * after every prctl(PR_SET_MEMORY_MERGE, 1). */
void ksmp_heap_reseal(void);
void ksmp_heap_atfork(void);
void *ksmp_heap_malloc(size_t size);
void *ksmp_heap_calloc(size_t n, size_t size);
void *ksmp_heap_memalign(size_t align, size_t size);	/* power of two */
void *ksmp_heap_realloc(void *p, size_t size);
void ksmp_heap_free(void *p);
size_t ksmp_heap_usable(void *p);

static inline unsigned ksmp_heap_slot(uintptr_t r)
{
	return (unsigned)((r ^ (r >> 10)) & (KSMP_HEAP_VERDICTS - 1));
}

/* Does the verdict table say that the call returning to ret is not made
 * by a crypto library? (False: a crypto library's, or not known yet.) */
static inline bool ksmp_heap_known_plain(const void *ret)
{
	uintptr_t r = (uintptr_t)ret;
	return KSMP_LIKELY(__atomic_load_n(&ksmp_heap_verdicts[ksmp_heap_slot(r)],
					   __ATOMIC_RELAXED) ==
			   ((uint64_t)r | __atomic_load_n(&ksmp_caller_epoch, __ATOMIC_RELAXED)));
}

/* Is the call that returns to ret made by a crypto library? A verdict
 * word is the address (48 bits), the caller cache's epoch (bits 48-62,
 * kept there by caller.c) and the verdict (bit 63): a call from a known
 * non-crypto caller costs one load and one compare. */
static inline bool ksmp_heap_crypto(const void *ret)
{
	uintptr_t r = (uintptr_t)ret;
	uint64_t e = __atomic_load_n(&ksmp_heap_verdicts[ksmp_heap_slot(r)],
				     __ATOMIC_RELAXED);
	uint64_t want = (uint64_t)r |
		__atomic_load_n(&ksmp_caller_epoch, __ATOMIC_RELAXED);
	if (KSMP_LIKELY(e == want))
		return false;
	if (e == (want | 1ull << 63))
		return true;
	return ksmp_heap_crypto_slow(r);
}

/* Could p be a block the library handed out itself (pool, crypto heap)?
 * Lock-free; false at once when neither was ever used. A block is in the
 * box before anyone can hold it: each bound is read at least as new as
 * when the block was handed out, and either bound alone only widens. */
static inline bool ksmp_own_maybe(const void *p)
{
	uintptr_t a = (uintptr_t)p;
	uintptr_t lo = __atomic_load_n(&ksmp_own_lo, __ATOMIC_RELAXED);
	return KSMP_UNLIKELY(a - lo < __atomic_load_n(&ksmp_own_hi, __ATOMIC_RELAXED) - lo);
}

/* Is p a block of the crypto heap? Lock-free; false at once when the
 * crypto heap and the pool were never used. */
static inline bool ksmp_heap_owns(const void *p)
{
	return ksmp_own_maybe(p) && ksmp_heap_owns_slow((uintptr_t)p);
}

/* ------------------------------------------------------------- engine.c */
struct ksmp_engine_cfg {
	int engine;			/* enum ksmp_engine */
	bool glibc;			/* real malloc is glibc's: headers readable */
	bool alloc_hooks;		/* malloc family does work */
	bool want_heap, want_arena, want_chunk;
	bool want_mmap, want_file, want_stack, want_data;
	bool callers;			/* policy has caller= rules, or profiling */
	int heap_rule, arena_rule;	/* decided once */
	uint64_t heap_step;
};
extern struct ksmp_engine_cfg ksmp_cfg;
extern bool ksmp_profile;		/* KSMP_PROFILE=1: always record callers */
/* The policy in use: the build's image of the built-in default, shared
 * read-only (most programs: no copy at start), or the one a file gave
 * (init.c). Set once, in the constructor. */
extern const struct ksmp_policy *ksmp_pol;
extern KSMP_TLS int ksmp_busy;		/* recursion guard */
extern KSMP_TLS bool ksmp_tramp_alloc;	/* thread.c: its own calls */

/* The library's spin locks (heap, arenas, mmap threshold, region table,
 * main-arena pieces): held only briefly, by code running with ksmp_busy
 * set, so a signal handler's interposed call never waits on one. */
static inline void ksmp_spin_lock(int *l)
{
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
		sched_yield();
}

static inline void ksmp_spin_unlock(int *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

/* early.c: mappings made before the engine started, judged at its start. */
bool ksmp_early_open(void);
void ksmp_early_mmap(void *p, size_t len, int prot, int flags, int fd,
		     const void *ret);
void ksmp_early_moved(uintptr_t old, size_t oldlen, uintptr_t nw, size_t newlen,
		      bool kept);
void ksmp_early_replay(void);

/* Choose the engine for the loaded policy and start it. */
void ksmp_engine_start(void);
/* After a malloc-family call returned p (non-NULL, glibc chunk). */
void ksmp_engine_alloc_slow(void *p, size_t head, const void *ret);
/* Before free(p) / realloc(p) of a glibc mmapped chunk; kept (NULL for
 * free) receives its record, for ksmp_engine_chunk_back. */
void ksmp_engine_chunk_gone(void *p, size_t head, struct ksmp_piece *kept);
/* A realloc that failed left the chunk as it was: its record back. */
void ksmp_engine_chunk_back(const struct ksmp_piece *kept);
/* free(p) of a glibc mmapped chunk of size bytes: glibc's dynamic mmap
 * threshold, kept by the engine while its heap step holds M_TOP_PAD. */
void ksmp_engine_mmapped_freed(size_t size);
/* The program calls mallopt(param, ...): its own settings win. */
void ksmp_engine_mallopt(int param);
/* Main heap may have moved (brk). */
void ksmp_engine_heap_changed(uintptr_t brk_now);
/* A main-arena chunk above the break: glibc mapped a piece of the main
 * arena apart from the brk heap (apart.c). */
void ksmp_engine_heap_apart(void *p, size_t head);
/* Advise [lo, lo+len), such a piece, as heap (once). */
void ksmp_engine_heap_piece(uintptr_t lo, size_t len);
void ksmp_apart_after_fork(void);
/* The program's own mmap succeeded. */
void ksmp_engine_mmap(void *p, size_t len, int prot, int flags, int fd,
		      const void *ret);
/* In the child after fork: locks held by vanished threads are free. */
void ksmp_engine_after_fork(void);
/* Thread stack [lo, lo+len) of a new thread created from ret. */
void ksmp_engine_stack(uintptr_t lo, size_t len, const void *ret);
/* Static data [lo, lo+len) of the loaded object named obj. */
void ksmp_engine_data(uintptr_t lo, size_t len, const char *obj);
/* Forget a data range whose object may or may not still be loaded, and
 * take back its advice (unless whole-process merging owns it). */
void ksmp_engine_data_drop(uintptr_t lo, size_t len);

/* glibc: current program break */
extern void *__curbrk __attribute__((visibility("default")));
extern KSMP_TLS uintptr_t ksmp_tls_arena;	/* this thread's last arena heap */
extern uintptr_t ksmp_heap_seen;	/* last __curbrk the engine saw */

/* glibc malloc chunk header bits (malloc/malloc.c) */
#define KSMP_CHUNK_MMAPPED	0x2u
#define KSMP_CHUNK_NONMAIN	0x4u
#define KSMP_CHUNK_FLAGS	0x7u
#define KSMP_ARENA_HEAP_MAX	(64ul << 20)

/* Read the size word in front of a glibc chunk. */
__attribute__((no_sanitize_address))
static inline size_t ksmp_chunk_head(const void *p)
{
	return ((const size_t *)p)[-1];
}

/* The fast path after every allocation: one load and a few compares;
 * ksmp_busy (the library's own calls) is only looked at before the
 * engine would be called. */
static inline void ksmp_after_alloc(void *p, const void *ret)
{
	if (!p)
		return;
	size_t head = ksmp_chunk_head(p);
	if (head & KSMP_CHUNK_MMAPPED) {
		if (ksmp_cfg.want_chunk && !ksmp_busy)
			ksmp_engine_alloc_slow(p, head, ret);
	} else if (head & KSMP_CHUNK_NONMAIN) {
		if (ksmp_cfg.want_arena &&
		    KSMP_UNLIKELY(((uintptr_t)p & ~(KSMP_ARENA_HEAP_MAX - 1)) != ksmp_tls_arena) &&
		    !ksmp_busy)
			ksmp_engine_alloc_slow(p, head, ret);
	} else if (ksmp_cfg.want_heap) {
		uintptr_t b = (uintptr_t)__atomic_load_n(&__curbrk, __ATOMIC_RELAXED);
		if (KSMP_UNLIKELY(b != __atomic_load_n(&ksmp_heap_seen, __ATOMIC_RELAXED)) &&
		    !ksmp_busy)
			ksmp_engine_heap_changed(b);
		if (KSMP_UNLIKELY((uintptr_t)p >= b) && !ksmp_busy)
			ksmp_engine_heap_apart(p, head);
	}
}

#pragma GCC visibility pop

#endif
