#!/bin/sh
# auto_unresponsive - mode auto's controller and a process that answers
# no command: instance a of tests/auto/auto-prog is stopped (SIGSTOP)
# before its U chunks can be judged, so every prune sent to it waited for
# the command timeout (1 s) at each look, and passes (auto=200) came a
# second or more apart. A process whose commands fail (stopped, refused,
# no agent) must cost little: none is sent to a stopped process, and
# the next passes leave it out (2, 4, ... 32 of them). Once it runs
# again, it is pruned as before (instance b, never stopped, is pruned
# all along).
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/auto/auto_common.sh"
auto_init 4

printf 'mode auto\n' > "$OUT/auto.policy"
pair auto.policy 16 SSSSUUUU
kill -STOP "$a_pid"
mfs_mount "auto=200" || { echo "Bail out! cannot mount mergefs"; exit 1; }
B=$(addr b)
# pruned PID ADDR: the U chunk at ADDR + 12 MiB is pruned (not mg)
pruned() { set -- $(vma "$1" $(($2 + 12 * 1048576))); [ "${1:-}" = 0 ]; }
until_ 40 pruned "$b_pid" "$B"
need_acting 4
ok "instance b's U chunks are pruned" pruned "$b_pid" "$B"
sleep 2		# a's U chunks judged too by now (as b's were)
n0=$(field "$MNT/stats" auto_cycles)
sleep 4
n1=$(field "$MNT/stats" auto_cycles)
ok "instance a stopped: $((n1 - n0)) passes in 4 s (at least 8)" test $((n1 - n0)) -ge 8
advised() { set -- $(vma "$a_pid" $((A + 12 * 1048576))); [ "${1:-}" = 1 ]; }
ok "while stopped, its U chunks stay advised" advised
kill -CONT "$a_pid"
ok "running again, instance a's U chunks are pruned" until_ 30 pruned "$a_pid" "$A"
exec 4>&- 5>&-
done_testing
