#!/bin/sh
# seq_unique - regression test (issue 10, item 6): a write to merge
# returns success only when the agent acknowledged that very command.
# Before the fix, a sender that timed out gave its sequence number back;
# the next command took the same number, the agent dropped it as a
# duplicate of the one still running, and the late acknowledgement of
# the old "0" was reported as the success of the new "1" while the
# process stayed unmerged.
#
# The target's unmerge takes 400 ms inside its handler (mergefs_target
# -S); mergefs waits 250 ms. "echo 0" times out while the unmerge runs,
# then "echo 1" is written at once.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/mergefs_common.sh"
mfs_init root fuse
mfs_mount timeout=250 || { echo "Bail out! mount failed"; exit 1; }

plan 6
start t -s 611 -K 64 -S 400
pid=$t_pid
is "$(cat "$MNT/$pid/merge")" 1 "the target starts merged"
is "$("$W" "$MNT/$pid/merge" 0)" ETIMEDOUT "unmerge outlasts the timeout: ETIMEDOUT"
r1=$("$W" "$MNT/$pid/merge" 1)
state=$(cat "$MNT/$pid/merge")
diag "then merge: $r1, merge file reads $state"
# Success must mean it was carried out: never OK with the process unmerged.
ok "merge reports success only if the process is merged (got $r1, state $state)" \
	test "$r1" != OK -o "$state" = 1
sleep 0.5
is "$("$W" "$MNT/$pid/merge" 1)" OK "once the unmerge is done, merge succeeds"
is "$(cat "$MNT/$pid/merge")" 1 "and the process is merged"
before=$(field "$MNT/$pid/stats" commands)
"$W" "$MNT/$pid/merge" 1 >/dev/null
after=$(field "$MNT/$pid/stats" commands)
is "$((after - before))" 1 "each later command is carried out exactly once"
done_testing
