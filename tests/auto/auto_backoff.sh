#!/bin/sh
# auto_backoff - mode auto's back-off on changing memory, with real KSM,
# the real library and mergefs's controller: two instances of
# tests/auto/auto-prog hold 2 MiB chunks SSSSUUUU (S alike in both, U
# their own); auto-reprobe 10.
#   - the U chunks are pruned (delay before their probe: 10 s), then
#     rewritten alike in both: probed, they merge and are kept;
#   - rewritten as their own again a few seconds later, they are pruned
#     again, and the delay before the next probe doubles (20 s): a range
#     that merges when offered but stops soon after does not start its
#     back-off over (it did: pruned and probed every ~12 s, two changes
#     of state each time);
#   - unmerged by a write of 0 to PID/merge for 3 s and merged again, an
#     instance keeps its entry in the controller (PID/stats counters and
#     auto_followed_seconds go on; the entry was dropped and its history
#     with it).
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/auto/auto_common.sh"
auto_init 5

printf 'mode auto\nauto-reprobe 10\n' > "$OUT/auto.policy"
mfs_mount "auto=200" || { echo "Bail out! cannot mount mergefs"; exit 1; }
pair auto.policy 16 SSSSUUUU
t_start=$(date +%s)
u_pruned() { set -- $(vma "$a_pid" $((A + 12 * 1048576))); [ "$1" = 0 ]; }
# probed (mg) and merged: S and U, 16 MiB, ksm_merging_pages >= 3500
u_merged() {
	set -- $(vma "$a_pid" $((A + 12 * 1048576)))
	[ "$1" = 1 ] && [ "$(cat "/proc/$a_pid/ksm_merging_pages")" -ge 3500 ]
}

need_acting 5
ok "the U chunks are pruned" until_ 40 u_pruned
echo "fill SSSSSSSS" >&4
echo "fill SSSSSSSS" >&5
ok "rewritten alike, they are probed after ~10 s and merge" until_ 60 u_merged
sleep 3		# judged (and kept) by the controller meanwhile
echo "fill SSSSUUUU" >&4
echo "fill SSSSUUUU" >&5
ok "rewritten as their own a few seconds later, pruned again" until_ 40 u_pruned
t0=$(date +%s)
i=0
while u_pruned && [ $i -lt 225 ]; do sleep 0.2; i=$((i + 1)); done
held=$(($(date +%s) - t0))
diag "pruned again for $held s (probe due 20 s after the prune; 10 s before the doubling)"
ok "the next probe waits the doubled delay: pruned for $held s >= 16 s" test "$held" -ge 16

# unmerged by a write of 0 for 3 s, the controller leaves the instance
# alone (passes do not see it) but keeps its history: merged again, its
# counters go on (they started over: the entry was dropped at once)
pa=$(field "$MNT/$a_pid/stats" auto_prunes)
echo 0 > "$MNT/$a_pid/merge"
sleep 3
echo 1 > "$MNT/$a_pid/merge"
sleep 1
fs=$(field "$MNT/$a_pid/stats" auto_followed_seconds)
pb=$(field "$MNT/$a_pid/stats" auto_prunes)
age=$(($(date +%s) - t_start))
ok "after an unmerge of 3 s, followed all along ($age s): auto_followed_seconds ${fs:-none}, auto_prunes ${pa:-none} -> ${pb:-none}" \
	test "${fs:--99}" -ge $((age - 5)) -a "${pb:--1}" -ge "${pa:-0}" -a "${pa:-0}" -ge 1
exec 4>&- 5>&-
done_testing
