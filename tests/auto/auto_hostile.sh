#!/bin/sh
# auto_hostile - mode auto's controller reads each target's state block,
# which is the target's own memory: a program may write any record into
# it. Two instances of tests/auto/auto-prog do (command bogus): one a
# record at the top of the 64-bit space, whose chunks ran past 2^64 and
# back to 0 (the walk never ended), one of 64 TiB (2^25 chunks of
# 2 MiB: the controller grew its table and re-scanned it for every new
# chunk). The controller must leave such records alone and go on: two
# well-behaved instances (S chunks alike in both, U their own) still get
# their U chunks pruned, passes still come, and mergefs stays small.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/auto/auto_common.sh"
auto_init 4

printf 'mode auto\n' > "$OUT/auto.policy"
run h auto.policy 4 UU
run i auto.policy 4 UU
exec 6> "$OUT/h.in" 7> "$OUT/i.in"
pair auto.policy 16 SSSSUUUU
wait_ready h
wait_ready i
echo "bogus ffffffffffe00000 1000" >&6
echo "bogus 100000000000 400000000000" >&7
wait_line "$OUT/h" "bogus"
wait_line "$OUT/i" "bogus"
ok "the hostile instances wrote their records" \
	sh -c "grep -q '^ok bogus' '$OUT/h' && grep -q '^ok bogus' '$OUT/i'"
mfs_mount "auto=200" || { echo "Bail out! cannot mount mergefs"; exit 1; }
own_pruned() {
	set -- $(vma "$a_pid" $((A + 8 * 1048576))) $(vma "$a_pid" $((A + 14 * 1048576)))
	[ "$1" = 0 ] && [ "$3" = 0 ]
}
until_ 40 own_pruned
need_acting 3
ok "the well-behaved instance's U chunks are pruned" own_pruned
n0=$(field "$MNT/stats" auto_cycles)
more() { [ "$(field "$MNT/stats" auto_cycles)" -ge $((n0 + 5)) ]; }
ok "passes go on (auto_cycles $n0, then 5 more)" until_ 10 more
rss=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$(mfs_pid)/status")
ok "mergefs's resident memory stays small: ${rss:-?} kB <= 65536 kB" test "${rss:-999999}" -le 65536
exec 4>&- 5>&- 6>&- 7>&-
done_testing
