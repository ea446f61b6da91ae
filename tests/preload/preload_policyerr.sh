#!/bin/sh
# preload_policyerr.sh - a policy that fails to parse, or a KSMP_POLICY
# naming a missing file, leaves the program running normally and unmerged,
# with one clear message on stderr (file:line: message for parse errors).
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
need_ksm
pl_need_lib
pl_tmp

plan 16
A="$PROGS/ksmp-alloc"
bad=$(pl_policy bad 'mode regions
merge mmap
frobnicate yes')
missing="$PL_TMP/no/such.policy"

# check_case NAME POLICY WANT-IN-MESSAGE
check_case() {
	name=$1; pol=$2; want=$3
	LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY="$pol" "$A" -x mmap:2M small:1M \
		> "$PL_TMP/$name.out" 2> "$PL_TMP/$name.err"
	rc=$?
	is "$rc" 0 "$name: program exits 0"
	ok "$name: program ran to the end" grep -q '^ready' "$PL_TMP/$name.out"
	is "$(wc -l < "$PL_TMP/$name.err")" 1 "$name: exactly one line on stderr"
	case $(cat "$PL_TMP/$name.err") in *"$want"*) r=0;; *) r=1;; esac
	[ $r -eq 0 ] || diag "stderr: $(cat "$PL_TMP/$name.err")"
	ok "$name: the message names '$want'" [ $r -eq 0 ]
	pl_start "$PL_TMP/$name.bg" env LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY="$pol" \
		"$A" mmap:2M small:1M
	pl_wait_ready "$PL_TMP/$name.bg"
	is "$(pl_probe mgcount "$PL_LAST")" 0 "$name: no mapping has mg"
	is "$(pl_probe stat "$PL_LAST" ksm_merge_any)" 0 "$name: not merged as a whole process"
	st=$(pl_probe state "$PL_LAST")
	case $st in "engine 0 "*) r=0;; *) r=1; diag "state: $st";; esac
	ok "$name: state says engine off" [ $r -eq 0 ]
	pl_stop
}
check_case parse "$bad" "$bad:3:"
check_case missing "$missing" "$missing"

# a forked child does not repeat the message
LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY="$bad" "$PROGS/ksmp-misc" fork \
	> "$PL_TMP/fork.out" 2> "$PL_TMP/fork.err"
is "$(wc -l < "$PL_TMP/fork.err")" 1 "fork: still exactly one message"
is "$(cat "$PL_TMP/fork.out")" "ok fork" "fork: parent and children work"
done_testing
