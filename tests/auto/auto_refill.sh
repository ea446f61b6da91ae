#!/bin/sh
# auto_refill - mode auto probes a pruned chunk early once it filled, with
# real KSM, the real library and mergefs's controller: two instances of
# tests/auto/auto-prog hold 2 MiB chunks SSUE (S alike in both; U their
# own; E 16 pages of their own, the rest never touched); auto-reprobe 60.
#   - U and E are pruned (no shared page), their probe 60 s away;
#   - E then filled alike in both (512 pages, far more than the 1/8 of a
#     chunk it must gain): counted while pruned, it is probed and merges
#     well before its 60 s (it waited them out before);
#   - U, rewritten with contents of its own (all its pages present at the
#     prune already: it gained none), stays pruned meanwhile.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/auto/auto_common.sh"
auto_init 4

printf 'mode auto\nauto-reprobe 60\n' > "$OUT/auto.policy"
mfs_mount "auto=200" || { echo "Bail out! cannot mount mergefs"; exit 1; }
pair auto.policy 8 SSUE
at() { set -- $(vma "$a_pid" $((A + $1 * 1048576 + 4096))) x 0; echo "$1 $2"; }
e_pruned() { set -- $(at 6); [ "$1" = 0 ]; }
u_pruned() { set -- $(at 4); [ "$1" = 0 ]; }
both_pruned() { e_pruned && u_pruned; }
e_merged() { set -- $(at 6); [ "$1" = 1 ] && [ "$2" -ge 1500 ]; }

need_acting 4
ok "the U and E chunks are pruned" until_ 40 both_pruned
t0=$(date +%s)
echo "fill SSUS" >&4
echo "fill SSUS" >&5
until_ 55 e_merged
held=$(($(date +%s) - t0))
diag "E filled and merged $held s after its prune (its probe was due at 60 s)"
ok "the filled chunk is probed early and merges: $held s < 45 s" test "$held" -lt 45
ok "the U chunk, which gained no page, is still pruned" u_pruned
echo check >&4
wait_line "$OUT/a" "check"
ok "contents intact" grep -qx 'ok check' "$OUT/a"
exec 4>&- 5>&-
done_testing
