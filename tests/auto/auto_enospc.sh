#!/bin/sh
# auto_enospc - mode auto when the library's region table is full: an
# instance of tests/auto/auto-prog fills its table (command crowd), so
# the prune of its U chunks, which splits its one record, fails with
# ENOSPC (the agent may restate some records of a command and not others,
# then say ENOSPC). The controller must not send that command again at
# every look (it did, 5 times a second at auto=200): it takes the range
# as pruned, reads from the records at its next look what became of it,
# and tries again only after auto-reprobe. Another instance, its table
# not full, gets its U chunks pruned as usual.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/auto/auto_common.sh"
auto_init 4

printf 'mode auto\nauto-reprobe 60\n' > "$OUT/auto.policy"
pair auto.policy 16 SSSSUUUU
echo crowd >&4
wait_line "$OUT/a" "crowd"
wait_line "$OUT/a" "crowd"
ok "instance a filled its region table" grep -q '^ok crowd' "$OUT/a"
mfs_mount "auto=200" || { echo "Bail out! cannot mount mergefs"; exit 1; }
B=$(addr b)
b_pruned() { set -- $(vma "$b_pid" $((B + 12 * 1048576))); [ "${1:-}" = 0 ]; }
until_ 40 b_pruned
need_acting 3
ok "instance b's U chunks are pruned" b_pruned
cmds() { field "$MNT/$a_pid/stats" commands; }
sent() { [ "$(cmds)" -ge 1 ] 2>/dev/null; }
until_ 20 sent
c0=$(cmds)
sleep 5
c1=$(cmds)
diag "instance a: $c0 commands, $c1 five seconds later; U chunk: $(vma "$a_pid" $((A + 12 * 1048576)))"
ok "a's prune failed with ENOSPC ($c0 commands)" test "${c0:-0}" -ge 1
ok "and is not sent again at every look: $((c1 - c0)) commands in 5 s (at most 2)" \
	test $((c1 - c0)) -le 2
exec 4>&- 5>&-
done_testing
