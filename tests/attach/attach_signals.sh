#!/bin/sh
# attach_signals.sh - signals that arrive while `ksmpreload attach` has
# the target stopped are delivered afterwards, none lost, with the same
# effect as without attach (one handler run, one EINTR for a read without
# SA_RESTART); SIGSTOP still stops it; a target killed in the middle ends
# the attach cleanly; an attacher killed by SIGKILL leaves the target
# running untouched (the kernel detaches it).
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/attach/attach_common.sh"
at_setup
plan 14

for stage in stop call; do
	at_start s$stage "$TGT" readloop; P=$AT_PID
	at_wait_blocked $P
	: > "$T/e"
	KSMP_TEST_ATTACH_PAUSE=$stage:500 "$K" attach --mode process $P > "$T/o" 2> "$T/e" &
	A=$!
	at_wait_pause "$T/e"
	kill -USR1 $P
	wait $A
	is "$?" 0 "signal during the injection ($stage): attach succeeds"
	ok "signal during the injection ($stage): merging is on" grep -q 'ksm_merge_any: yes' "/proc/$P/ksm_stat"
	at_wait_blocked $P
	at_send s$stage "data-$stage"
	at_wait_line s$stage '^read '
	is "$(sed -n 2p "$T/s$stage.out")" "read 10 data-$stage eintr 1 handled 1" \
		"signal during the injection ($stage): handled once, one EINTR, data intact"
done

# SIGSTOP during the injection: the process ends up stopped, as it would
at_start st "$TGT" read; P=$AT_PID
at_wait_blocked $P
: > "$T/e"
KSMP_TEST_ATTACH_PAUSE=call:3000 "$K" attach --mode process $P > "$T/o" 2> "$T/e" &
A=$!
at_wait_pause "$T/e"
kill -STOP $P
wait $A
n=0; while [ "$(sed 's/.*) \(.\).*/\1/' /proc/$P/stat)" != T ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n+1)); done
is "$(sed 's/.*) \(.\).*/\1/' /proc/$P/stat)" T "SIGSTOP during the injection: the process is stopped afterwards"
kill -CONT $P
at_send st "cont"
at_wait_line st '^read '
grep -q '^read 5 cont$' "$T/st.out" || diag "its output: $(tr '\n' '|' < "$T/st.out")"
is "$(grep '^read ' "$T/st.out" | head -n 1)" "read 5 cont" "SIGSTOP/SIGCONT: its read() is intact"

# the attacher killed by SIGKILL while the target is stopped
at_start kl "$TGT" readloop; P=$AT_PID
at_wait_blocked $P
: > "$T/e"
KSMP_TEST_ATTACH_PAUSE=stop "$K" attach --mode process $P > "$T/o" 2> "$T/e" &
A=$!
at_wait_pause "$T/e"
is "$(sed -n 's/^TracerPid:[[:space:]]*//p' /proc/$P/status)" "$A" "attacher paused: it traces the target"
kill -9 $A; wait $A 2>/dev/null
n=0; while [ "$(sed -n 's/^TracerPid:[[:space:]]*//p' /proc/$P/status)" != 0 ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n+1)); done
is "$(sed -n 's/^TracerPid:[[:space:]]*//p' /proc/$P/status)" 0 "attacher killed: the kernel detached the target"
ok "attacher killed: the target was not changed" grep -q 'ksm_merge_any: no' "/proc/$P/ksm_stat"
at_send kl "alive"
at_wait_line kl '^read '
is "$(sed -n 2p "$T/kl.out")" "read 6 alive eintr 0 handled 0" "attacher killed: the target runs on, its read() intact, no EINTR"

# the target killed in the middle of the injection
at_start tk "$TGT" read; P=$AT_PID
at_wait_blocked $P
: > "$T/e"
KSMP_TEST_ATTACH_PAUSE=call:3000 "$K" attach --mode process $P > "$T/o" 2> "$T/e" &
A=$!
at_wait_pause "$T/e"
kill -9 $P
wait $A
is "$?" 1 "target killed during the injection: attach exits 1"
# the kill may be seen in the injected call, or when attach looks again
# before retrying it ("it ended since it was read")
grep -Eq 'it exited during the injection|it ended since it was read' "$T/e" || diag "$(cat "$T/e")"
ok "target killed during the injection: says it went away" \
	grep -Eq 'it exited during the injection|it ended since it was read' "$T/e"
done_testing
