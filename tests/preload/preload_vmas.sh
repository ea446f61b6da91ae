#!/bin/sh
# preload_vmas.sh - the library keeps the VMAs it adds small and bounded:
# 40,000 x (malloc(40 KiB) + malloc(8 KiB)) ends within 32 mappings of the
# same program without the library, and a later mmap still works.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
need_ksm
pl_need_lib
pl_tmp
MB="$KSMP_BUILDDIR/bench/ksmp-mbench"
[ -x "$MB" ] || skip_all "bench/ksmp-mbench not built"
plan 6
base=$("$MB" vmas 40000 | awk '{ print $2 }')
diag "without the library: $base mappings"
regions=$(pl_policy regions 'mode regions
merge heap,arena,chunk
merge mmap min=1M')
proc=$(pl_policy proc 'mode process')
for pol in "$regions" "$KSMP_SRCDIR/policy/default.policy" "$proc"; do
	out=$(LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY="$pol" "$MB" vmas 40000)
	v=$(echo "$out" | awk '{ print $2 }')
	pl_le "$((v - base))" 32 "$(basename "$pol"): $v mappings, within 32 of $base"
	is "$(echo "$out" | awk '{ print $4 }')" 1 "$(basename "$pol"): a later mmap still works"
done
done_testing
