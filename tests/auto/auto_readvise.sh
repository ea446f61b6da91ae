#!/bin/sh
# auto_readvise - a pruned chunk keeps its back-off when the program maps
# part of it afresh: two instances of tests/auto/auto-prog hold chunks
# SSSSUUUU (S alike in both, U their own; auto-reprobe 600); once the U
# chunks are pruned, one instance unmaps 64 KiB inside one of them and
# maps it again, which the library records and advises anew. The rest of
# that chunk must stay pruned until its probe, ten minutes on: it was
# offered to KSM again at the next look (probed as the chunk's "pruned
# sub-units", whose delay had never been set).
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/auto/auto_common.sh"
auto_init 4

printf 'mode auto\nauto-reprobe 600\n' > "$OUT/auto.policy"
mfs_mount "auto=200" || { echo "Bail out! cannot mount mergefs"; exit 1; }
pair auto.policy 16 SSSSUUUU
M=1048576
mg() { set -- $(vma "$a_pid" $((A + $1))); echo "${1:-?}"; }
own_pruned() { [ "$(mg $((8 * M)))" = 0 ] && [ "$(mg $((14 * M)))" = 0 ]; }
until_ 40 own_pruned
need_acting 4
ok "the U chunks are pruned" own_pruned
sleep 1
p0=$(field "$MNT/$a_pid/stats" auto_probes)
echo "remap a10000 10000" >&4
wait_line "$OUT/a" "remap"
ok "64 KiB inside the second U chunk mapped afresh" grep -q '^ok remap' "$OUT/a"
grep -v '^#' "$MNT/$a_pid/regions" | sed 's/^/# a: /'
# the rest of that chunk (10 MiB + 64 KiB on) and its neighbours
rest() { [ "$(mg $((10 * M + 4 * 65536)))" = 0 ] && [ "$(mg $((11 * M + 65536)))" = 0 ] &&
	[ "$(mg $((8 * M)))" = 0 ] && [ "$(mg $((12 * M)))" = 0 ]; }
i=0
while rest && [ "$(field "$MNT/$a_pid/stats" auto_probes)" = "$p0" ] && [ $i -lt 25 ]; do
	sleep 0.2; i=$((i + 1))
done
p1=$(field "$MNT/$a_pid/stats" auto_probes)
ok "for 5 s the rest stays pruned, nothing of it probed (held $((i / 5)).$((i % 5 * 2)) s, auto_probes $p0 -> $p1)" \
	test "$i" -ge 25 -a "$p1" = "$p0"
echo check >&4
wait_line "$OUT/a" "check"
ok "contents intact" grep -qx 'ok check' "$OUT/a"
exec 4>&- 5>&-
done_testing
