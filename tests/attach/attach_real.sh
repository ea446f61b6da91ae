#!/bin/sh
# attach_real.sh - a real program's own checks pass while it is attached
# and detached over and over: stress-ng --verify with stressors that block
# in pipes, futexes, sleeps, epoll, poll, signal queues and timers, or
# churn memory, while every ~50 ms each of its processes is attached
# (process and regions modes, alternately) and detached again. Processes
# that end between the listing and the attach (stress-ng forks short-lived
# children) are refused; the others must pass.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/attach/attach_common.sh"
at_setup
command -v stress-ng > /dev/null 2>&1 || skip_all_env "stress-ng not installed"
plan 4
SECS=10
printf 'mode regions\nmerge heap,mmap,chunk,arena\n' > "$T/all.policy"

nice -n 10 stress-ng --verify -t $SECS --pipe 1 --futex 1 --sleep 1 --epoll 1 \
	--poll 1 --sigq 1 --clock 1 --mmap 1 --malloc 1 --vm 1 --vm-bytes 32M \
	> "$T/st.out" 2>&1 &
S=$!
AT_PIDS="$AT_PIDS $S"
sleep 1
n=0 good=0 i=0
while kill -0 $S 2>/dev/null && [ "$(sed 's/.*) \(.\).*/\1/' /proc/$S/stat 2>/dev/null)" != Z ]; do
	for p in $(pgrep stress-ng); do
		if [ $((i % 2)) -eq 0 ]; then m="--mode process"; else m="-p $T/all.policy"; fi
		if "$K" attach $m $p > /dev/null 2>> "$T/att.err"; then
			good=$((good + 1))
			"$K" detach $p > /dev/null 2>> "$T/att.err"
		fi
		n=$((n + 1)); i=$((i + 1))
	done
	sleep 0.05
done
wait $S
rc=$?
is "$rc" 0 "stress-ng --verify exits 0 while attached and detached repeatedly"
ok "no stressor failed its verification" sh -c "! grep -Eq 'fail:|unsuccessful' '$T/st.out'"
ok "attached several times ($good of $n attempts; the others had exited)" [ $good -ge 1 ]
ok "stress-ng reports a successful run" grep -q 'successful run completed' "$T/st.out"
[ $rc -eq 0 ] || diag "$(tail -20 "$T/st.out")"
diag "refusals: $(grep -v 'caller=' "$T/att.err" | sed 's/.*): //' | sort | uniq -c | tr '\n' ';')"
done_testing
