#!/bin/sh
# preload_reserve.sh - memory reserved PROT_NONE and committed page by page
# with MAP_FIXED (the JVM's way): each committed page is a new mapping that
# loses the reservation's advice; the library judges it as part of the
# reservation (by the reservation's size, the page's own protection), so
# the committed pages are advised under the built-in default (bench-real's
# jvm-g1 left them out: under 64K each). A rule that skips them still does.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
pl_need_lib
pl_tmp

R="$PROGS/ksmp-reserve"
LIB=$(ksmp_preload)
mkdir -p "$PL_TMP/empty"
heaponly=$(pl_policy heaponly 'mode regions
merge heap')
plan 4
is "$("$R")" nomg "without the library: committed pages are not mergeable"
is "$(LD_PRELOAD="$LIB" KSMP_POLICY_DIR="$PL_TMP/empty" "$R")" mg \
	"built-in default: pages committed into an advised reservation are advised"
is "$(LD_PRELOAD="$LIB" KSMP_POLICY_DIR="$PL_TMP/empty" "$R" rwx)" nomg \
	"built-in default: rwx pages committed there are not (skip mmap prot=rwx)"
is "$(LD_PRELOAD="$LIB" KSMP_POLICY="$heaponly" "$R")" nomg \
	"a policy that merges no mmap: neither the reservation nor its pages"
done_testing
