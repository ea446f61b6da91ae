#!/bin/sh
# preload_mmthresh.sh - the library's heap step (mallopt M_TOP_PAD) turns
# glibc's dynamic mmap threshold off; the library raises the threshold on
# free as glibc would, so a buffer freed and asked for again comes from the
# heap as it does without the library (bench-real's node: the freed copies
# of its input stayed in the heap, where whole-process merging merged
# them; without the rule they were unmapped, 0.57 of its saving). The
# program's own mallopt and glibc's environment settings still win.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
pl_need_lib
pl_tmp
sanitized && skip_all "sanitizer build: ASan's allocator replaces glibc's"

M="$PROGS/ksmp-mmthresh"
LIB=$(ksmp_preload)
mkdir -p "$PL_TMP/empty"
regions=$(pl_policy regions 'mode regions
heap-step 64K
merge any')
plan 6
is "$("$M")" heap "without the library: the freed size comes from the heap"
is "$("$M" fixed)" mmap "without the library: the program's own threshold holds"
is "$(LD_PRELOAD="$LIB" KSMP_POLICY_DIR="$PL_TMP/empty" "$M")" heap \
	"built-in default (heap-step 256K): the freed size comes from the heap"
is "$(LD_PRELOAD="$LIB" KSMP_POLICY="$regions" "$M")" heap \
	"heap-step 64K, mode regions: the same"
is "$(LD_PRELOAD="$LIB" KSMP_POLICY_DIR="$PL_TMP/empty" "$M" fixed)" mmap \
	"the program's mallopt(M_MMAP_THRESHOLD) wins"
is "$(MALLOC_MMAP_THRESHOLD_=131072 LD_PRELOAD="$LIB" KSMP_POLICY_DIR="$PL_TMP/empty" "$M")" mmap \
	"MALLOC_MMAP_THRESHOLD_ in the environment wins"
done_testing
