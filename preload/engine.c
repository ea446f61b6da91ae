/*
 * engine.c - the advice engine: decides, with the policy's matcher, which
 * memory to mark MADV_MERGEABLE, and does it once per region, as a whole:
 *
 *   heap   the main brk heap, advised ahead in big steps: glibc's M_TOP_PAD
 *          is raised to the policy's heap step, so brk grows rarely; each
 *          growth is advised when the first allocation sees the new break;
 *          pieces glibc maps for the main arena when brk cannot grow are
 *          advised when their first chunk is seen (apart.c)
 *   arena  a thread arena's whole 64 MiB-aligned heap reservation, once,
 *          while most of it is still PROT_NONE
 *   chunk  a large mmapped malloc chunk: its whole mapping, once; forgotten
 *          on free/realloc
 *   mmap / file   the program's own private mmaps (by size, prot, caller)
 *   stack  thread stacks (see thread.c)
 *
 * Also the process engine (PR_SET_MEMORY_MERGE) and engine.h, which the
 * control agent calls from its signal handler: those functions only use
 * syscalls and lock-free slot flips.
 *
 * Never: allocate, use stdio, or leave errno changed.
 */
#include <errno.h>
#include <malloc.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "engine.h"
#include "lib.h"

#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE 67
#define PR_GET_MEMORY_MERGE 68
#endif
#ifndef MADV_MERGEABLE
#define MADV_MERGEABLE 12
#define MADV_UNMERGEABLE 13
#endif

struct ksmp_engine_cfg ksmp_cfg;
KSMP_TLS int ksmp_busy;
uintptr_t ksmp_heap_seen;

static uintptr_t pagesize;
static uintptr_t heap_adv_end;	/* main heap advised up to here */
static uintptr_t heap_base;
static int heap_lock;

#define MAX_ARENA_HEAPS 512
static uintptr_t arena_heaps[MAX_ARENA_HEAPS] KSMP_BIG;
static unsigned narena_heaps;
static int arena_lock;
KSMP_TLS uintptr_t ksmp_tls_arena;

static uintptr_t page_down(uintptr_t a)
{
	return a & ~(pagesize - 1);
}

static uintptr_t page_up(uintptr_t a)
{
	return (a + pagesize - 1) & ~(pagesize - 1);
}

/* madvise; 0 or -errno, counted either way. The crypto heap is never
 * merged, whatever range asks for it (a command's, such as mergefs's
 * undoing of a stopped unmerge, or a record whose mapping went unseen and
 * whose addresses the crypto heap took): after MADV_MERGEABLE over any
 * of it, it is sealed again. */
static int advise(uintptr_t start, size_t len, int advice)
{
	ksmp_state_need();	/* the block, if made when first needed */
	__atomic_fetch_add(&ksmp_st->madvise_calls, 1, __ATOMIC_RELAXED);
	int r = madvise((void *)start, len, advice) == 0 ? 0 : -errno;
	if (r)
		ksmp_state_count_error(-r);
	if (advice == MADV_MERGEABLE && ksmp_heap_overlaps(start, start + len))
		ksmp_heap_reseal();
	return r;
}

/* The matcher's verdict on a region whose caller is named (NULL or ""
 * when unknown): the rule index when a merge rule selects it, -1 when it
 * is skipped. */
static int decide_named(int kind, uint64_t size, int prot, const char *caller)
{
	struct ksmp_query q = { .kind = (enum ksmp_kind)kind, .size = size,
				.prot = prot,
				.caller = caller && caller[0] ? caller : NULL };
	enum ksmp_action act = KSMP_ACT_SKIP;
	int rule = ksmp_policy_match(ksmp_pol, &q, &act);
	return act == KSMP_ACT_MERGE && rule >= 0 ? rule : -1;
}

/* The same for a region made by the call that returns to ret; caller
 * receives the caller's name. */
static int decide(int kind, uint64_t size, int prot, const void *ret,
		  char *caller, size_t csize)
{
	caller[0] = '\0';
	if (ksmp_cfg.callers && ret)
		ksmp_caller_name(ret, caller, csize);
	return decide_named(kind, size, prot, caller);
}

static const char *kname(int kind)
{
	return ksmp_kind_name((enum ksmp_kind)kind);
}

/* Advise (unless unmerged by command) and record. */
static void advise_region(uintptr_t start, size_t len, int kind, int rule,
			  const char *caller, const void *ret)
{
	int state = KSMP_REGION_UNMERGED;
	if (__atomic_load_n(&ksmp_st->merge_state, __ATOMIC_ACQUIRE)) {
		int e = advise(start, len, MADV_MERGEABLE);
		if (e && e != -ENOMEM) {
			ksmp_logf(KSMP_LOG_INFO, "madvise %s %p+%zu: error %d",
				  kname(kind), (void *)start, len, -e);
			return;
		}
		state = KSMP_REGION_MERGEABLE;
	}
	ksmp_logf(KSMP_LOG_DEBUG, "advised %s %p+%zu rule %d caller %s",
		  kname(kind), (void *)start, len, rule, caller ? caller : "");
	uint64_t pc = ksmp_cfg.callers ? (uint64_t)(uintptr_t)ret : 0;
	ksmp_regions_add_pc(start, len, kind, rule, caller, pc, state);
}

/* ------------------------------------------------------------- main heap
 * The heap VMA is kept as [advised: heap_base, heap_adv_end) followed by a
 * small un-advised tail [heap_adv_end, brk) of at least one page. Both
 * halves come from one VMA split after it was written to, so they share
 * one anon_vma: when brk grows, the kernel extends the tail in place (same
 * flags), and advising the grown part merges it back into the advised VMA.
 * The heap thus costs one extra VMA however often it grows. (Advising the
 * whole heap instead would make each growth a new VMA: touched before it
 * is advised, it gets its own anon_vma and never merges again.)
 */
static void touch(uintptr_t a)
{
	/* A write fault gives the VMA its anon_vma before we split it; a
	 * compare-and-swap of a word with itself writes without changing it. */
	long *w = (long *)a;
	long v = __atomic_load_n(w, __ATOMIC_RELAXED);
	while (!__atomic_compare_exchange_n(w, &v, v, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
}

/*
 * Where the brk heap begins: where exec put the break (start_brk). While
 * glibc has never asked for the break (its __curbrk is still NULL: nothing
 * grew the heap before this constructor, the usual case) the break is
 * still there, and sbrk(0) tells it with one brk system call, without
 * /proc; otherwise start_brk from /proc/self/stat. A break moved before
 * us by a raw brk system call, behind glibc's back, would be taken for the
 * start (the heap below it left unadvised).
 */
static uintptr_t exec_brk(void)
{
	if (!__atomic_load_n(&__curbrk, __ATOMIC_RELAXED) && ksmp_real.sbrk) {
		void *b = ksmp_real.sbrk(0);
		if (b != (void *)-1)
			return (uintptr_t)b;
	}
	uint64_t b = ksmp_read_start_brk();
	return b ? (uintptr_t)b : (uintptr_t)__curbrk;
}

void ksmp_engine_heap_changed(uintptr_t b)
{
	if (!ksmp_cfg.want_heap || !b)
		return;
	int saved = errno;
	/* Waiting is safe: the holder runs with its recursion guard set (so
	 * a signal handler's malloc does not come back here) and calls
	 * nothing that waits for us. */
	ksmp_busy++;
	ksmp_spin_lock(&heap_lock);
	if (b == ksmp_heap_seen) {	/* another thread did it meanwhile */
		ksmp_spin_unlock(&heap_lock);
		ksmp_busy--;
		errno = saved;
		return;
	}
	uintptr_t base = page_down(heap_base);
	uintptr_t end = page_up(b);
	uintptr_t target = end > base + pagesize ? end - pagesize : base;
	bool grown = target > heap_adv_end;
	if (grown) {
		if (heap_adv_end == base) {
			touch(base);
			__atomic_fetch_add(&ksmp_st->vmas_added, 1, __ATOMIC_RELAXED);
		}
		advise_region(heap_adv_end, target - heap_adv_end, KSMP_KIND_HEAP,
			      ksmp_cfg.heap_rule, NULL, NULL);
		heap_adv_end = target;
	} else if (target < heap_adv_end) {
		/* trimmed: re-split so that the tail can grow in place again */
		if (target > base && end > target)
			advise(target, heap_adv_end < end ? heap_adv_end - target :
			       end - target, MADV_UNMERGEABLE);
		ksmp_regions_forget(target, heap_adv_end - target);
		heap_adv_end = target;
	}
	__atomic_store_n(&ksmp_heap_seen, b, __ATOMIC_RELAXED);
	ksmp_spin_unlock(&heap_lock);
	if (grown)	/* the first advice of the heap, or a new step */
		ksmp_data_check();
	ksmp_busy--;
	errno = saved;
}

void ksmp_engine_heap_piece(uintptr_t lo, size_t len)
{
	int state;
	if (ksmp_cfg.want_heap && !ksmp_regions_holder(lo, len, KSMP_KIND_HEAP, &state)) {
		/* its own VMA: touched before it is advised, it cannot join
		 * a neighbour piece (apart.c bounds how many) */
		__atomic_fetch_add(&ksmp_st->vmas_added, 1, __ATOMIC_RELAXED);
		advise_region(lo, len, KSMP_KIND_HEAP, ksmp_cfg.heap_rule, NULL, NULL);
	}
}

/* ---------------------------------------------------------- arenas, chunks */
__attribute__((no_sanitize_address))
static size_t chunk_prev_size(const void *p)
{
	return ((const size_t *)p)[-2];
}

static void arena_seen(uintptr_t p)
{
	uintptr_t base = p & ~(KSMP_ARENA_HEAP_MAX - 1);
	if (base == ksmp_tls_arena)
		return;
	unsigned n = __atomic_load_n(&narena_heaps, __ATOMIC_ACQUIRE);
	for (unsigned i = 0; i < n; i++) {
		if (arena_heaps[i] == base) {
			ksmp_tls_arena = base;
			return;
		}
	}
	ksmp_spin_lock(&arena_lock);
	n = narena_heaps;
	bool known = false;
	for (unsigned i = 0; i < n; i++)
		known |= arena_heaps[i] == base;
	if (!known && n < MAX_ARENA_HEAPS) {
		arena_heaps[n] = base;
		__atomic_store_n(&narena_heaps, n + 1, __ATOMIC_RELEASE);
		advise_region(base, KSMP_ARENA_HEAP_MAX, KSMP_KIND_ARENA,
			      ksmp_cfg.arena_rule, NULL, NULL);
	}
	ksmp_tls_arena = base;
	ksmp_spin_unlock(&arena_lock);
}

void ksmp_engine_alloc_slow(void *p, size_t head, const void *ret)
{
	int saved = errno;
	ksmp_busy++;
	if (head & KSMP_CHUNK_MMAPPED) {
		if (ksmp_cfg.want_chunk) {
			size_t prev = chunk_prev_size(p);
			uintptr_t start = (uintptr_t)p - 2 * sizeof(size_t) - prev;
			size_t len = (head & ~(size_t)KSMP_CHUNK_FLAGS) + prev;
			char caller[KSMP_STATE_CALLER_MAX];
			int rule = decide(KSMP_KIND_CHUNK, len,
					  PROT_READ | PROT_WRITE, ret, caller,
					  sizeof(caller));
			if (rule >= 0 && !(start & (pagesize - 1)))
				advise_region(start, len, KSMP_KIND_CHUNK, rule, caller, ret);
		}
	} else if (ksmp_cfg.want_arena) {
		arena_seen((uintptr_t)p);
	}
	ksmp_data_check();	/* a slow path: objects loaded since? */
	ksmp_busy--;
	errno = saved;
}

void ksmp_engine_chunk_gone(void *p, size_t head, struct ksmp_piece *kept)
{
	int saved = errno;
	ksmp_busy++;
	size_t prev = chunk_prev_size(p);
	uintptr_t start = (uintptr_t)p - 2 * sizeof(size_t) - prev;
	size_t len = (head & ~(size_t)KSMP_CHUNK_FLAGS) + prev;
	if (kept)
		ksmp_regions_take(start, len, kept);
	else
		ksmp_regions_forget(start, len);
	ksmp_busy--;
	errno = saved;
}

void ksmp_engine_chunk_back(const struct ksmp_piece *kept)
{
	int saved = errno;
	ksmp_busy++;
	ksmp_regions_put_back(kept);
	ksmp_busy--;
	errno = saved;
}

/* ------------------------------------------------ glibc's mmap threshold
 * mallopt(M_TOP_PAD), which the heap step needs, also turns glibc's
 * dynamic mmap threshold off. Without the library, free() of an mmapped
 * chunk larger than the threshold (up to 32 MiB on 64-bit) raises it to
 * that size and the trim threshold to twice that, so that later buffers of
 * that size come from the heap; with it off, each is mapped and unmapped
 * again, and the program's memory is no longer what it is without the
 * library (bench-real's node kept 0.57 of whole-process merging's saving:
 * the freed copies of its input that whole-process merging merges in the
 * heap were gone). So the engine takes glibc's step itself, on free,
 * until the program or its environment sets one of these values. */
#define DYN_MAX ((4ul << 20) * sizeof(long))	/* glibc's ..._THRESHOLD_MAX */
static size_t dyn_threshold;	/* 0: not kept by the engine */
static size_t dyn_pad;		/* M_TOP_PAD beyond glibc's 128K */
static int dyn_lock;

void ksmp_engine_mmapped_freed(size_t size)
{
	size_t t = __atomic_load_n(&dyn_threshold, __ATOMIC_RELAXED);
	if (KSMP_LIKELY(!t || size <= t) || size > DYN_MAX || !ksmp_real.mallopt)
		return;
	int saved = errno;
	ksmp_busy++;
	ksmp_spin_lock(&dyn_lock);
	if (dyn_threshold && size > dyn_threshold) {
		ksmp_real.mallopt(M_MMAP_THRESHOLD, (int)size);
		ksmp_real.mallopt(M_TRIM_THRESHOLD, (int)(2 * size + dyn_pad));
		dyn_threshold = size;
	}
	ksmp_spin_unlock(&dyn_lock);
	ksmp_busy--;
	errno = saved;
}

void ksmp_engine_mallopt(int param)
{
	if (param != M_MMAP_THRESHOLD && param != M_TRIM_THRESHOLD &&
	    param != M_TOP_PAD && param != M_MMAP_MAX)
		return;
	int saved = errno;
	ksmp_busy++;
	ksmp_spin_lock(&dyn_lock);
	dyn_threshold = 0;
	ksmp_spin_unlock(&dyn_lock);
	ksmp_busy--;
	errno = saved;
}

/* Has the environment set glibc's thresholds (which turns its rule off)? */
static bool malloc_env_set(void)
{
	static const char *const vars[] = { "MALLOC_MMAP_THRESHOLD_",
		"MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_" };
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (getenv(vars[i]))
			return true;
	const char *t = getenv("GLIBC_TUNABLES");
	return t && (strstr(t, "malloc.mmap_threshold") || strstr(t, "malloc.trim_threshold") ||
		     strstr(t, "malloc.top_pad") || strstr(t, "malloc.mmap_max"));
}

/* ----------------------------------------------------------- mmap, stacks */
/*
 * An anonymous MAP_FIXED mapping inside a record of ours: a program that
 * reserves address space (PROT_NONE) and commits it piece by piece (the
 * JVM maps 4 KiB pages with MAP_FIXED into its 2 MiB reservations; each
 * new mapping loses the reservation's advice). The piece is judged as
 * part of the reservation, by its size (the piece's own protection and
 * caller still count), stays in its record, and is advised when the
 * record is. bench-real's jvm-g1: pages that merged under whole-process
 * merging were never advised. Returns true when the record keeps it.
 */
static bool fixed_in_record(uintptr_t a, size_t len, int prot, const void *ret,
			    char *caller, size_t csize)
{
	int state = -1;
	size_t held = ksmp_regions_holder(a, len, KSMP_KIND_MMAP, &state);
	if (!held || decide(KSMP_KIND_MMAP, held, prot, ret, caller, csize) < 0)
		return false;
	if (state == KSMP_REGION_MERGEABLE &&
	    __atomic_load_n(&ksmp_st->merge_state, __ATOMIC_ACQUIRE))
		advise(a, len, MADV_MERGEABLE);
	return true;	/* pruned or unmerged: the record's next command covers it */
}

void ksmp_engine_mmap(void *p, size_t len, int prot, int flags, int fd,
		      const void *ret)
{
	int saved = errno;
	ksmp_busy++;
	uintptr_t a = (uintptr_t)p;
	bool plain = (flags & MAP_TYPE) == MAP_PRIVATE && !(flags & MAP_HUGETLB) && len;
	int kind = (flags & MAP_ANONYMOUS) || fd < 0 ? KSMP_KIND_MMAP : KSMP_KIND_FILE;
	char caller[KSMP_STATE_CALLER_MAX];
	prot &= PROT_READ | PROT_WRITE | PROT_EXEC;
	if ((flags & MAP_FIXED) && plain && kind == KSMP_KIND_MMAP &&
	    ksmp_cfg.want_mmap && fixed_in_record(a, len, prot, ret, caller,
						  sizeof(caller)))
		goto out;
	if (flags & MAP_FIXED)
		ksmp_regions_forget(a, len);	/* whatever was there is gone */
	if (!plain || (kind == KSMP_KIND_MMAP ? !ksmp_cfg.want_mmap : !ksmp_cfg.want_file))
		goto out;
	int rule = decide(kind, len, prot, ret, caller, sizeof(caller));
	if (rule >= 0) {
		advise_region(a, len, kind, rule, caller, ret);
		ksmp_data_check();	/* a new record: objects loaded since? */
	}
out:
	ksmp_busy--;
	errno = saved;
}

void ksmp_engine_stack(uintptr_t lo, size_t len, const void *ret)
{
	int saved = errno;
	ksmp_busy++;
	char caller[KSMP_STATE_CALLER_MAX];
	int rule = decide(KSMP_KIND_STACK, len, PROT_READ | PROT_WRITE, ret,
			  caller, sizeof(caller));
	if (rule >= 0 && !ksmp_regions_has_start(lo))
		advise_region(lo, len, KSMP_KIND_STACK, rule, caller, ret);
	ksmp_busy--;
	errno = saved;
}

/* Static data [lo, lo+len) of the loaded object named obj (data.c): the
 * object is the region's caller, so caller= rules judge it by its name. */
void ksmp_engine_data(uintptr_t lo, size_t len, const char *obj)
{
	int saved = errno;
	ksmp_busy++;
	int rule = decide_named(KSMP_KIND_DATA, len, PROT_READ | PROT_WRITE, obj);
	if (rule >= 0)
		advise_region(lo, len, KSMP_KIND_DATA, rule, obj, NULL);
	ksmp_busy--;
	errno = saved;
}

/* ------------------------------------------------------------------ start */
static bool want(int kind)
{
	return (ksmp_pol->kinds_merged >> kind) & 1;
}

static void start_regions(void)
{
	struct ksmp_engine_cfg c = ksmp_cfg;
	char caller[KSMP_STATE_CALLER_MAX];
	bool bypassed = !ksmp_malloc_reached();
	if (bypassed)
		ksmp_state_set_flag(KSMP_STF_HOOKS_BYPASSED);
	c.glibc = !bypassed && ksmp_real.libc_malloc &&
		  (void *)ksmp_real.malloc == ksmp_real.libc_malloc;
	c.callers = ksmp_pol->has_caller_rules || ksmp_profile;
	c.heap_step = ksmp_pol->heap_step ? ksmp_pol->heap_step : (64ul << 20);
	c.heap_rule = c.arena_rule = -1;
	if (c.glibc && want(KSMP_KIND_HEAP)) {
		c.heap_rule = decide(KSMP_KIND_HEAP, c.heap_step,
				     PROT_READ | PROT_WRITE, NULL, caller,
				     sizeof(caller));
		c.want_heap = c.heap_rule >= 0;
	}
	if (c.glibc && want(KSMP_KIND_ARENA)) {
		c.arena_rule = decide(KSMP_KIND_ARENA, KSMP_ARENA_HEAP_MAX,
				      PROT_READ | PROT_WRITE, NULL, caller,
				      sizeof(caller));
		c.want_arena = c.arena_rule >= 0;
	}
	c.want_chunk = c.glibc && want(KSMP_KIND_CHUNK);
	c.want_mmap = want(KSMP_KIND_MMAP);
	c.want_file = want(KSMP_KIND_FILE);
	c.want_stack = want(KSMP_KIND_STACK);
	c.want_data = want(KSMP_KIND_DATA);
	bool hooks = c.want_heap || c.want_arena || c.want_chunk;
	c.alloc_hooks = false;
	c.engine = KSMP_ENGINE_OFF;
	if (c.want_heap) {
		size_t step = c.heap_step > (1ul << 30) ? (1ul << 30) : c.heap_step;
		bool dyn = !malloc_env_set();
		if (ksmp_real.mallopt && ksmp_real.mallopt(M_TOP_PAD, (int)step) && dyn)
			dyn_threshold = 128ul << 10;	/* glibc's starting value */
		dyn_pad = step > dyn_threshold ? step - dyn_threshold : 0;
		heap_base = exec_brk();
		heap_adv_end = page_down(heap_base);
		/* A heap that does not exist yet is split and advised after
		 * the first allocation that creates it (ksmp_after_alloc sees
		 * __curbrk move), written by then: a program that never
		 * allocates gets no heap (no brk, no malloc set-up). */
	}
	ksmp_logf(KSMP_LOG_DEBUG, "regions: glibc %d bypassed %d heap %d arena %d chunk %d "
		  "mmap %d file %d stack %d data %d callers %d", c.glibc, bypassed,
		  c.want_heap, c.want_arena, c.want_chunk, c.want_mmap,
		  c.want_file, c.want_stack, c.want_data, c.callers);
	ksmp_st->engine = KSMP_ENGINE_REGIONS;
	ksmp_cfg = c;
	/* the interposers test these two: everything else is in place first */
	__atomic_store_n(&ksmp_cfg.engine, KSMP_ENGINE_REGIONS, __ATOMIC_RELEASE);
	__atomic_store_n(&ksmp_cfg.alloc_hooks, hooks, __ATOMIC_RELEASE);
	if (c.want_heap)
		ksmp_engine_heap_changed((uintptr_t)__curbrk);
	else if (c.want_data)
		ksmp_data_check();	/* no heap advice to wait for */
}

void ksmp_engine_start(void)
{
	pagesize = ksmp_pagesize();
	struct ksmp_state *st = ksmp_st;
	st->mode = ksmp_pol->mode;
	st->merge_state = 1;
	/* PR_SET_MEMORY_MERGE survives execve, and systemd's MemoryKSM=yes
	 * sets it for a service: an administrator's choice, kept unless the
	 * policy explicitly says "inherited-merge off". */
	if (ksmp_pol->mode != KSMP_MODE_PROCESS &&
	    ksmp_prctl(PR_GET_MEMORY_MERGE, 0) == 1) {
		if (ksmp_pol->inherited_off) {
			ksmp_prctl(PR_SET_MEMORY_MERGE, 0);
			ksmp_logf(KSMP_LOG_ERROR, "inherited whole-process merging "
				  "(MemoryKSM= or a parent's PR_SET_MEMORY_MERGE) turned "
				  "off: policy %s says inherited-merge off",
				  ksmp_pol->name);
		} else {
			ksmp_state_set_flag(KSMP_STF_PROCESS_INHERITED);
			ksmp_logf(KSMP_LOG_INFO, "inherited whole-process merging kept");
		}
	}
	switch (ksmp_pol->mode) {
	case KSMP_MODE_PROCESS:
		if (ksmp_prctl(PR_SET_MEMORY_MERGE, 1) == 0) {
			st->engine = KSMP_ENGINE_PROCESS;
			ksmp_cfg.engine = KSMP_ENGINE_PROCESS;
			break;
		}
		ksmp_state_count_error(errno);
		ksmp_state_set_flag(KSMP_STF_PROCESS_FALLBACK);
		ksmp_logf(KSMP_LOG_INFO, "PR_SET_MEMORY_MERGE refused (errno %d): using regions",
			  errno);
		start_regions();
		break;
	case KSMP_MODE_REGIONS:
	case KSMP_MODE_AUTO:	/* the controller in mergefs prunes */
		start_regions();
		break;
	default:
		st->engine = KSMP_ENGINE_OFF;
		break;
	}
	ksmp_early_replay();	/* mmaps of constructors that ran before ours */
	/* Crypto libraries' allocations must not land in merged memory
	 * (whole-process merging, inherited or ours, or heap/arena rules; or
	 * mmap rules when the malloc we forward to is not glibc's: jemalloc
	 * after the library, as redis-server links it, maps its extents
	 * through our mmap, and they are mmap regions of libjemalloc.so). */
	bool other_malloc = st->engine == KSMP_ENGINE_REGIONS && ksmp_cfg.want_mmap &&
			    !ksmp_cfg.glibc && !(st->flags & KSMP_STF_HOOKS_BYPASSED);
	if (st->engine == KSMP_ENGINE_PROCESS || ksmp_cfg.want_heap ||
	    ksmp_cfg.want_arena || (st->flags & KSMP_STF_PROCESS_INHERITED) ||
	    other_malloc)
		ksmp_heap_enable();
	ksmp_state_head_kept();
	ksmp_logf(KSMP_LOG_INFO, "policy %s (%s): engine %s", ksmp_pol->name,
		  ksmp_pol->source,
		  ksmp_engine_name(st->engine));
}

/* --------------------------------------------------------------- engine.h */
static int do_unmerge(uintptr_t start, size_t len)
{
	return advise(start, len, MADV_UNMERGEABLE);
}

static int do_merge(uintptr_t start, size_t len)
{
	return advise(start, len, MADV_MERGEABLE);
}

static int nothing(uintptr_t start, size_t len)
{
	(void)start;
	(void)len;
	return 0;
}

/* The process engine, or inherited whole-process merging that was kept:
 * unmerge and merge again must switch it too. */
static bool whole_process(const struct ksmp_state *st)
{
	return st->engine == KSMP_ENGINE_PROCESS ||
		(__atomic_load_n(&st->flags, __ATOMIC_ACQUIRE) &
		 KSMP_STF_PROCESS_INHERITED);
}

/* Nothing we advised may be left without a record (an unmerge by command
 * reaches only records). ENOMEM: an unloaded object, nothing mapped. */
void ksmp_engine_data_drop(uintptr_t lo, size_t len)
{
	int saved = errno;
	ksmp_busy++;
	if (!whole_process(ksmp_st)) {
		__atomic_fetch_add(&ksmp_st->madvise_calls, 1, __ATOMIC_RELAXED);
		if (madvise((void *)lo, len, MADV_UNMERGEABLE) != 0 && errno != ENOMEM)
			ksmp_state_count_error(errno);
	}
	ksmp_regions_forget_kind(lo, len, KSMP_KIND_DATA);
	ksmp_busy--;
	errno = saved;
}

int ksmp_engine_unmerge_all(void)
{
	struct ksmp_state *st = ksmp_st;
	int saved = errno, ret = 0;
	__atomic_store_n(&st->merge_state, 0, __ATOMIC_RELEASE);
	ksmp_state_set_flag(KSMP_STF_UNMERGED);
	ksmp_state_head_kept();
	if (whole_process(st) &&
	    ksmp_prctl(PR_SET_MEMORY_MERGE, 0) != 0) {
		ret = -errno;
		ksmp_state_count_error(errno);
	}
	if (!ret && st->engine == KSMP_ENGINE_REGIONS) {
		ret = ksmp_regions_walk(0, UINTPTR_MAX, KSMP_REGION_MERGEABLE,
					KSMP_REGION_UNMERGED, do_unmerge, NULL);
		if (ret == -ENOMEM)
			ret = 0;
	}
	errno = saved;
	return ret;
}

int ksmp_engine_merge_all(void)
{
	struct ksmp_state *st = ksmp_st;
	int saved = errno, ret = 0;
	if (whole_process(st)) {
		if (ksmp_prctl(PR_SET_MEMORY_MERGE, 1) != 0) {
			ret = -errno;
			ksmp_state_count_error(errno);
		}
		ksmp_heap_reseal();	/* prctl marked it mergeable again */
	}
	if (!ret && st->engine == KSMP_ENGINE_REGIONS) {
		ret = ksmp_regions_walk(0, UINTPTR_MAX, KSMP_REGION_UNMERGED,
					KSMP_REGION_MERGEABLE, do_merge, NULL);
		if (ret == -ENOMEM)
			ret = 0;
	}
	if (!ret) {
		__atomic_store_n(&st->merge_state, 1, __ATOMIC_RELEASE);
		ksmp_state_clear_flag(KSMP_STF_UNMERGED);
		ksmp_state_head_kept();
	}
	errno = saved;
	return ret;
}

/* A range a command may advise: page-aligned, not empty, not wrapping. */
static bool range_ok(uint64_t addr, uint64_t len, int advice)
{
	if (!pagesize)
		pagesize = ksmp_pagesize();
	return (advice == MADV_MERGEABLE || advice == MADV_UNMERGEABLE) &&
	       !(addr & (pagesize - 1)) && len && addr + len >= addr;
}

int ksmp_engine_range(uint64_t addr, uint64_t len, int advice)
{
	if (!range_ok(addr, len, advice))
		return -EINVAL;
	int ret = ksmp_engine_pages(addr, len, advice);	/* the crypto heap: advise() */
	int saved = errno;
	if (!ret) {
		bool any = false;
		uintptr_t hi = (uintptr_t)(addr + len);
		if (advice == MADV_MERGEABLE) {
			ksmp_regions_walk((uintptr_t)addr, hi, KSMP_REGION_UNMERGED,
					  KSMP_REGION_MERGEABLE, nothing, &any);
			ksmp_regions_walk((uintptr_t)addr, hi, KSMP_REGION_MERGEABLE,
					  KSMP_REGION_MERGEABLE, nothing, &any);
			if (!any)
				ksmp_regions_add_nowait((uintptr_t)addr, (size_t)len,
							KSMP_KIND_MMAP, -1, "control",
							KSMP_REGION_MERGEABLE);
		} else {
			ksmp_regions_walk((uintptr_t)addr, hi, KSMP_REGION_MERGEABLE,
					  KSMP_REGION_UNMERGED, nothing, &any);
		}
	}
	errno = saved;
	return ret;
}

int ksmp_engine_auto(uint64_t addr, uint64_t len, int prune)
{
	struct ksmp_state *st = ksmp_st;
	if (!pagesize)
		pagesize = ksmp_pagesize();
	if (st->engine != KSMP_ENGINE_REGIONS || st->mode != KSMP_MODE_AUTO)
		return -EOPNOTSUPP;
	if ((addr & (pagesize - 1)) || !len || addr + len < addr)
		return -EINVAL;
	if (!__atomic_load_n(&st->merge_state, __ATOMIC_ACQUIRE))
		return -EAGAIN;		/* unmerged by command: leave it so */
	int saved = errno;
	bool any = false;
	int r = prune ?
		ksmp_regions_restate((uintptr_t)addr, (uintptr_t)(addr + len),
				     KSMP_REGION_MERGEABLE, KSMP_REGION_PRUNED,
				     do_unmerge, &any) :
		ksmp_regions_restate((uintptr_t)addr, (uintptr_t)(addr + len),
				     KSMP_REGION_PRUNED, KSMP_REGION_MERGEABLE,
				     do_merge, &any);
	if (!r && !any)
		r = -ENOENT;		/* nothing of ours there (any more) */
	errno = saved;
	return r;
}

int ksmp_engine_pages(uint64_t addr, uint64_t len, int advice)
{
	if (!range_ok(addr, len, advice))
		return -EINVAL;
	int saved = errno;
	int ret = advise((uintptr_t)addr, (size_t)len, advice);
	errno = saved;
	return ret;
}

void ksmp_engine_after_fork(void)
{
	/* the threads that may have held these do not exist in the child */
	heap_lock = 0;
	ksmp_apart_after_fork();
	arena_lock = 0;
	dyn_lock = 0;
}
