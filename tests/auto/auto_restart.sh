#!/bin/sh
# auto_restart - mode auto across a restart of mergefs: two instances of
# tests/auto/auto-prog hold 2 MiB chunks SSSSUUUU (S alike in both, U
# their own); their U chunks are pruned (auto-reprobe 60). mergefs is
# unmounted and mounted again: the new controller has no history, and
# found the pruned chunks due at once, so its first pass probed all that
# was pruned (ksmd scanned it all again). Such a chunk must wait its
# first delay (auto-reprobe) instead.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/auto/auto_common.sh"
auto_init 3

printf 'mode auto\nauto-reprobe 60\n' > "$OUT/auto.policy"
mfs_mount "auto=200" || { echo "Bail out! cannot mount mergefs"; exit 1; }
pair auto.policy 16 SSSSUUUU
pruned() { set -- $(vma "$a_pid" $((A + 12 * 1048576))); [ "${1:-}" = 0 ]; }
until_ 40 pruned
need_acting 3
ok "the U chunks are pruned" pruned
mp=$(mfs_pid)
fusermount3 -u "$MNT"
i=0; while kill -0 "$mp" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mfs_mount "auto=200" || { echo "Bail out! cannot mount mergefs again"; exit 1; }
more() { [ "$(field "$MNT/stats" auto_cycles)" -ge 10 ]; }
until_ 20 more
need_acting 2
# the pair's own counts: the host's would count other mode auto processes
# (make check -j runs other tests' programs, mode auto by default, beside)
pa=$(field "$MNT/$a_pid/stats" auto_probes) pb=$(field "$MNT/$b_pid/stats" auto_probes)
ok "mounted again, $(field "$MNT/stats" auto_cycles) passes probe nothing (auto_probes ${pa:-none} and ${pb:-none})" \
	test "${pa:-1}" -eq 0 -a "${pb:-1}" -eq 0
ok "the U chunks stay pruned" pruned
exec 4>&- 5>&-
done_testing
