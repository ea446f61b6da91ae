#!/bin/sh
# attach_seccomp.sh - a target under a real seccomp filter (libseccomp) is
# refused, untouched and alive, when its filter would not allow the call
# attach injects (here: SECCOMP_RET_KILL_PROCESS), judged per call with
# its arguments; calls the filter allows go ahead.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/attach/attach_common.sh"
at_setup
[ -x "$SEC" ] || skip_all "built without libseccomp"
plan 14
printf 'mode regions\nmerge mmap min=4M prot=rw\n' > "$T/big.policy"

at_start kp "$SEC" kill-prctl 0x5ecc0 8; P=$AT_PID
"$K" attach --mode process $P > "$T/o" 2> "$T/e"
is "$?" 1 "prctl killed by the filter: process mode refused"
ok "it says the filter would kill the process" grep -q "refused: its seccomp filter would kill the process" "$T/e"
ok "the target is alive and untouched" grep -q 'ksm_merge_any: no' "/proc/$P/ksm_stat"
"$K" attach -p "$T/big.policy" $P > "$T/o" 2> "$T/e"
is "$?" 0 "prctl killed by the filter: regions mode (madvise) goes ahead"
A=$(sed -n 's/^addr //p' "$T/kp.out")
is "$("$PROBE" mg $P "$A")" mg "its mapping is mergeable"

at_start km "$SEC" kill-mergeable 0x5ecc1 8; P=$AT_PID
A=$(sed -n 's/^addr //p' "$T/km.out")
"$K" attach -p "$T/big.policy" $P > "$T/o" 2> "$T/e"
is "$?" 1 "madvise(MADV_MERGEABLE) killed by the filter (argument match): regions refused"
is "$("$PROBE" mg $P "$A")" nomg "nothing was advised"
"$K" attach --mode process $P > "$T/o" 2> "$T/e"
is "$?" 0 "the same filter allows prctl: process mode goes ahead"
ok "merging is on" grep -q 'ksm_merge_any: yes' "/proc/$P/ksm_stat"

at_start eo "$SEC" errno-other 0x5ecc2 8; P=$AT_PID
"$K" attach --mode process $P > "$T/o" 2> "$T/e"
is "$?" 0 "a filter about other calls: attach goes ahead"

at_start sm "$SEC" strict; P=$AT_PID
at_wait_blocked $P
"$K" attach --mode process $P > "$T/o" 2> "$T/e"
is "$?" 1 "strict seccomp mode: refused"
ok "strict seccomp mode: says so" grep -q "strict seccomp mode" "$T/e"

for t in kp km eo; do at_send $t x; done
at_send sm x
for t in kp km eo sm; do at_wait_line $t '^read '; done
n=$(cat "$T/kp.out" "$T/km.out" "$T/eo.out" | grep -c '^read 2$')
is "$n" 3 "every filtered target lived on and read its input"
is "$(grep -c '^read 1' "$T/sm.out")" 1 "the strict-mode target lived on"
done_testing
