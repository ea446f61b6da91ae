#!/bin/sh
# preload_errno.sh - return values and errno are the same with and without
# the library: tests/progs/ksmp-errno prints one line per case (failing
# mmap/mmap64 EINVAL/ENOMEM, MAP_FIXED_NOREPLACE EEXIST, failing mremap
# ENOMEM, munmap of garbage, calloc/reallocarray overflow, the memalign
# family, malloc_usable_size, ...). Run under a policy that merges
# everything (regions) and under process mode; compare line by line. A few
# lines are also checked against what glibc is known to return, so that a
# broken comparison cannot pass.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
pl_need_lib
pl_tmp
# ASan aborts on impossible allocations unless told to return NULL.
ASAN_OPTIONS="${ASAN_OPTIONS:-}:allocator_may_return_null=1"
export ASAN_OPTIONS

E="$PROGS/ksmp-errno"
"$E" > "$PL_TMP/without" 2> /dev/null
n=$(wc -l < "$PL_TMP/without")
plan $((2 * n + 8))

all=$(pl_policy all 'mode regions
merge any')
proc=$(pl_policy proc 'mode process')
LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY="$all" "$E" > "$PL_TMP/regions" 2> "$PL_TMP/regions.err"
LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY="$proc" "$E" > "$PL_TMP/process" 2> "$PL_TMP/process.err"

want() { # want CASE EXPECTED-LINE-REST
	is "$(grep "^$1 " "$PL_TMP/without")" "$1 $2" "without the library: $1 $2"
}
want mmap_fixed_noreplace "ret=-1 errno=17"
want mremap_nomove_enomem "ret=-1 errno=12"
want calloc_overflow "ret=0 errno=12"
want posix_memalign_einval "ret=22 errno=-1"

for mode in regions process; do
	i=0
	while IFS= read -r line; do
		i=$((i + 1))
		got=$(sed -n "${i}p" "$PL_TMP/$mode")
		is "$got" "$line" "$mode: ${line%% *}"
	done < "$PL_TMP/without"
	is "$(wc -l < "$PL_TMP/$mode")" "$n" "$mode: same number of lines"
	# (ASan warns about the impossible allocations it refuses)
	is "$(grep -v '^==[0-9]*==WARNING: AddressSanitizer failed to allocate' "$PL_TMP/$mode.err")" "" \
		"$mode: nothing on stderr"
done
done_testing
