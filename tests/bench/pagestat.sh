#!/bin/sh
# pagestat.sh - bench/real/ksmp-pagestat on processes with a known layout
# (tests/bench/ksmp-layout) under real KSM: physical sharing, KSM pages and
# the 64 KiB / 2 MiB / per-VMA limits must come out exactly.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
need_root
need_ksm
[ -r /proc/kpageflags ] || skip_all_env "/proc/kpageflags not readable"
ksm_fast "$@"
PS="$KSMP_BUILDDIR/bench/real/ksmp-pagestat"
L="$KSMP_BUILDDIR/tests/bench/ksmp-layout"
T=$(mktemp -d) || exit 1
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
plan 14
ADDR=5e1200000000 END=5e1200800000
SEED=$((($$ % 30000) * 7 + 101))
field() { echo "$1" | awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }'; }
start() { # start NAME ARGS...: one ksmp-layout, waits for "ready"
	n=$1; shift
	"$L" "$@" > "$T/$n" 2>&1 &
	PIDS="$PIDS $!"
	i=0
	until grep -q '^ready' "$T/$n"; do
		i=$((i + 1)); [ $i -lt 100 ] || return 1; sleep 0.1
	done
}

# Two instances: 768 equal pages each must become 768 KSM pages shared by
# both (saved 768), out of 2 x 2048 present pages.
start a $ADDR $SEED && start b $ADDR $SEED
pa=$(awk '{ print $2 }' "$T/a") pb=$(awk '{ print $2 }' "$T/b")
n=0
while [ "$(cat /proc/$pa/ksm_merging_pages)" -lt 768 ] || [ "$(cat /proc/$pb/ksm_merging_pages)" -lt 768 ]; do
	n=$((n + 1)); [ $n -lt 300 ] || break; sleep 0.1
done
diag "ksm_merging_pages $(cat /proc/$pa/ksm_merging_pages) $(cat /proc/$pb/ksm_merging_pages)"
out=$("$PS" -r $ADDR-$END "$pa" "$pb")
diag "$out"
is "$(field "$out" present)" 4096 "present pages in the range (2 x 2048)"
is "$(field "$out" ksm)" 1536 "KSM pages mapped (2 x 768)"
is "$(field "$out" distinct)" 3328 "distinct physical pages"
is "$(field "$out" saved)" 768 "physical saving: 768 pages"
is "$(field "$out" limit_2m)" 0.500 "2 MiB limit: chunks 0 and 1 of both"
is "$(field "$out" limit_64k)" 0.367 "64 KiB limit: 94 dense 64 KiB chunks hold 97%"
is "$(field "$out" limit_vma)" 1.000 "per-VMA limit: the whole mapping"
is "$(field "$out" units_2m)" 8 "2 MiB units"
out=$("$PS" -q 0.5 -r $ADDR-$END "$pa" "$pb")
is "$(field "$out" limit_2m)" 0.250 "with a 50% quantile, chunk 0 of both suffices"
whole=$("$PS" "$pa" "$pb")
ok "without -r, the whole processes are read (more present pages)" \
	test "$(field "$whole" present)" -gt 4096
kill $pa $pb; wait $pa $pb 2>/dev/null; PIDS=""

# A forked pair, not mergeable: every page is shared (saved 2048), none KSM.
start f -n -f $ADDR $((SEED + 1))
pf=$(awk '{ print $2 }' "$T/f") pc=$(awk '{ print $3 }' "$T/f")
out=$("$PS" -r $ADDR-$END "$pf" "$pc")
diag "$out"
is "$(field "$out" saved)" 2048 "fork-shared pages count as saved"
is "$(field "$out" ksm)" 0 "and are not KSM pages"
is "$(field "$out" limit_2m)" 0.000 "no KSM pages: limit 0"
kill $pf; wait $pf 2>/dev/null; PIDS=""

"$PS" 999999999 > /dev/null 2>&1
is $? 1 "a process that does not exist: exit status 1"
done_testing
