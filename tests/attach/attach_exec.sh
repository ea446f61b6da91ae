#!/bin/sh
# attach_exec.sh - attach must never inject into a program other than the
# one it read. While every thread of the target is in a write, attach
# waits (up to 2 s) for one it may stop; meanwhile the target may exec,
# or end and leave its pid to another process. Before, attach seized
# whatever then held the pid and ran the call from the `syscall` address
# of the old vdso: the new program died of SIGSEGV. Now it checks, with
# the thread stopped, that the process is alive (pidfd), has the start
# time, address space, executable and vdso read, and else lets it go
# untouched; a process that exec'd (alive, same start time: as in
# `prog & ksmpreload attach $!`, where $! may still be the shell about to
# exec prog) is read again and attached as the program it is now, a pid
# given away is ESRCH.
#   exec: attach_target writeexec blocks 0.7 s in a socket write, then
#   execs /bin/sleep (process and regions mode): attached as sleep;
#   reuse: in a new pid namespace the target is killed during the wait
#   and ns_last_pid hands its pid to a fresh sleep (3 rounds);
#   --start TICKS (mergefs passes the start time it checked): a process
#   started at another tick is refused with ESRCH, untouched.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/attach/attach_common.sh"
at_setup
[ -r /proc/self/ksm_stat ] || skip_all_env "no /proc/PID/ksm_stat (kernel before 6.1)"
SLEEP=$(command -v sleep)
plan 22

merge_any() { sed -n 's/^ksm_merge_any: //p' "/proc/$1/ksm_stat"; }
wait_ready() {
	n=0
	while ! grep -q '^ready' "$1" 2>/dev/null && [ $n -lt 200 ]; do
		n=$((n + 1)); sleep 0.05
	done
}

for mode in process regions; do
	"$TGT" writeexec 700 "$SLEEP" 100 > "$T/w.out" 2>&1 &
	P=$!
	AT_PIDS="$AT_PIDS $P"
	wait_ready "$T/w.out"
	sleep 0.1
	"$K" attach --mode $mode --json $P > "$T/o" 2> "$T/e"
	rc=$?
	sleep 0.2	# a SIGSEGV from a bad injection shows by now
	is "$rc" 0 "exec during the wait ($mode): attach reads it again and succeeds"
	ok "exec during the wait ($mode): ok, as the program it is now (sleep)" \
		sh -c "grep -q '\"ok\": true' '$T/o' && grep -q '\"comm\": \"sleep\"' '$T/o'"
	is "$(cat /proc/$P/comm 2>/dev/null)" sleep \
		"exec during the wait ($mode): the exec'd program runs on (no SIGSEGV)"
	want=no; [ $mode = process ] && want=yes
	is "$(merge_any $P)" $want "exec during the wait ($mode): merges as a whole: $want"
	is "$(sed -n 's/^TracerPid:[[:space:]]*//p' /proc/$P/status)" 0 \
		"exec during the wait ($mode): and is not traced"
	sed 's/^/# /' "$T/o" "$T/e" "$T/w.out"
	kill -9 $P 2>/dev/null; wait $P 2>/dev/null
done

# --start TICKS (what mergefs passes): only the process started then
at_start st "$TGT" read; P=$AT_PID
st=$(sed 's/.*) //' /proc/$P/stat | cut -d' ' -f20)
"$K" attach --mode process --start $((st + 1)) --json $P > "$T/o" 2> "$T/e"
is "$?" 1 "--start another tick: attach fails"
ok "--start another tick: with ESRCH" grep -q '"error": "ESRCH"' "$T/o"
is "$(merge_any $P)" no "--start another tick: nothing done"
"$K" attach --mode process --start $st $P > "$T/o" 2> "$T/e"
is "$?.$(merge_any $P)" 0.yes "--start its own tick: attached"
"$K" detach --force --start $((st + 1)) $P > "$T/o" 2> "$T/e"
is "$?.$(merge_any $P)" 1.yes "detach --start another tick: fails, nothing undone"
"$K" detach --force --start $st $P > "$T/o" 2> "$T/e"
is "$?.$(merge_any $P)" 0.no "detach --start its own tick: detached"
"$K" attach --start x1 $P > "$T/o" 2> "$T/e"
is "$?" 2 "--start with no number: usage error"

# pid reuse: needs a pid namespace whose ns_last_pid can be set
command -v unshare >/dev/null 2>&1 &&
unshare --pid --fork --mount-proc sh -c 'echo 100 > /proc/sys/kernel/ns_last_pid' 2>/dev/null ||
	{ skip 5 "cannot create a pid namespace and set its ns_last_pid"; done_testing; exit 0; }
export K TGT T SLEEP
unshare --pid --fork --mount-proc sh -c '
	for r in 1 2 3; do
		"$TGT" writeexec 0 > "$T/r.out" 2>&1 & P=$!
		n=0
		while ! grep -q "^ready" "$T/r.out" && [ $n -lt 200 ]; do
			n=$((n + 1)); sleep 0.05
		done
		sleep 0.1
		"$K" attach --mode process --json $P > "$T/ra$r" 2>&1 & A=$!
		sleep 0.4
		kill -9 $P; wait $P 2>/dev/null
		echo $((P - 1)) > /proc/sys/kernel/ns_last_pid
		"$SLEEP" 100 & V=$!
		wait $A; rc=$?
		sleep 0.2
		m=$(sed -n "s/^ksm_merge_any: //p" /proc/$V/ksm_stat 2>/dev/null)
		echo "rc=$rc reused=$([ $P = $V ] && echo y) alive=$(kill -0 $V 2>/dev/null && echo y) merge=$m"
		kill -9 $V 2>/dev/null; wait $V 2>/dev/null
	done > "$T/reuse"'
sed 's/^/# /' "$T/reuse" "$T/ra1" "$T/ra2" "$T/ra3"
is "$(grep -c 'reused=y' "$T/reuse")" 3 "pid reuse: the sleep got the target's pid in 3 of 3 rounds"
is "$(grep -c 'rc=1 ' "$T/reuse")" 3 "pid reuse: attach failed in 3 of 3"
is "$(grep -c 'alive=y' "$T/reuse")" 3 "pid reuse: the sleep given the pid survived 3 of 3"
is "$(grep -c 'merge=no' "$T/reuse")" 3 "pid reuse: and was not merged in 3 of 3"
is "$(cat "$T/ra1" "$T/ra2" "$T/ra3" | grep -c '"error": "ESRCH"')" 3 \
	"pid reuse: attach said ESRCH in 3 of 3"
done_testing
