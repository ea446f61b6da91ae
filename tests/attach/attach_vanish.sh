#!/bin/sh
# attach_vanish.sh - `ksmpreload attach NAME` / `detach NAME`: a process
# found by name that exits before it is reached, or while it is being
# attached or detached, is reported as skipped and does not fail the run
# (the processes found are a snapshot, as pgrep's); the others are done.
# A pid given as such that is gone still exits 1. The attacher is paused
# at known points (KSMP_TEST_ATTACH_PAUSE) while the test kills a target.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/attach/attach_common.sh"
at_setup
[ -r /proc/self/ksm_stat ] || skip_all_env "no /proc/PID/ksm_stat (kernel before 6.1)"
plan 14

# paused_kill STAGE VICTIM CMD...: run the command (output in $T/o, $T/e)
# paused at STAGE (3 s), kill VICTIM meanwhile; its status in $rc
paused_kill() {
	stage=$1 victim=$2; shift 2
	: > "$T/e"
	KSMP_TEST_ATTACH_PAUSE=$stage:3000 "$@" > "$T/o" 2> "$T/e" &
	kp=$!
	at_wait_pause "$T/e"
	kill -9 $victim; at_reap $victim
	wait $kp
	rc=$?
}
merge_any() { sed -n 's/^ksm_merge_any: //p' "/proc/$1/ksm_stat"; }

# comm is the name the program was started by: a symlink names it
name=avan$$
ln -s "$TGT" "$T/$name"
at_start a "$T/$name" read; A=$AT_PID
at_start b "$T/$name" read; B=$AT_PID

# attach NAME: B exits after the processes are found, before its turn
paused_kill resolved $B "$K" attach --mode process "$name"
is "$rc" 0 "attach NAME: a process that exited before it was reached does not fail the run"
ok "attach NAME: it is reported as skipped" \
	grep -q "^ksmpreload attach: $B: it exited before it was reached, skipped$" "$T/e"
is "$(merge_any $A)" yes "attach NAME: the other process was attached"
ok "attach NAME: and said so" grep -q "^$A $name: process mode" "$T/o"
sed 's/^/# /' "$T/e"

# detach NAME: the process being detached is killed in the middle
at_start c "$T/$name" read; C=$AT_PID
"$K" attach --mode process $C > "$T/o" 2> "$T/e"
is "$(merge_any $C)" yes "a second process of the name is attached by pid"
: > "$T/e"
KSMP_TEST_ATTACH_PAUSE=call:3000 "$K" detach --json "$name" > "$T/o" 2> "$T/e" &
K2=$!
at_wait_pause "$T/e"
X="" Y=""
for p in $A $C; do
	if [ "$(sed -n 's/^TracerPid:[[:space:]]*//p' /proc/$p/status)" = "$K2" ]; then
		X=$p
	else
		Y=$p
	fi
done
ok "detach NAME: one of the two is being detached" [ -n "$X" ] && [ -n "$Y" ]
kill -9 $X; at_reap $X
wait $K2
is "$?" 0 "detach NAME: a process that exited during the detach does not fail the run"
ok "detach NAME: JSON marks it skipped, and why" grep -q \
	"\"pid\": $X, .*\"ok\": false, .*\"skipped\": true, \"message\": \"it exited during the detach\"" "$T/o"
if command -v python3 >/dev/null; then
	ok "detach NAME: the JSON is valid" sh -c "python3 -m json.tool '$T/o' > /dev/null"
else
	skip 1 "python3 not installed"
fi
is "$(merge_any $Y)" no "detach NAME: the other process was detached"
ok "detach NAME: and it is reported done" grep -q "\"pid\": $Y, .*\"ok\": true" "$T/o"
sed 's/^/# /' "$T/e"

# a pid given as such that is gone fails the run
at_start d "$T/$name" read; D=$AT_PID
paused_kill resolved $D "$K" attach --mode process $D
is "$rc" 1 "attach PID: a pid given that is gone exits 1"
ok "attach PID: says there is no such process" grep -q "^ksmpreload attach: $D (): refused: no such process" "$T/e"
# found by name and given by pid: the pid counts (a name of its own)
ln -s "$TGT" "$T/f$name"
at_start f "$T/f$name" read; F=$AT_PID
paused_kill resolved $F "$K" attach "f$name" $F
is "$rc" 1 "attach NAME PID: a process both found and given, gone, exits 1"
done_testing
