#!/bin/sh
# auto_quick - mode auto's controller judges a young process as soon as
# ksmd's passes allow, not at its next pass: mergefs is mounted with
# passes 15 s apart (-o auto=15000) once two instances of
# tests/auto/auto-prog hold their memory (S chunks alike in both, U
# their own); the first pass finds them, and the U chunks must be pruned
# before the second pass (host stats: auto_cycles still 1). Without the
# quick looks between passes, the first pass cannot judge a chunk it has
# just seen (three full scans of ksmd must follow) and the prune waits
# for the second, 15 s later. The S chunks stay merged.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/auto/auto_common.sh"
auto_init 2

printf 'mode auto\n' > "$OUT/auto.policy"
pair auto.policy 16 SSSSUUUU
# merged before the controller looks (S chunks: 8 MiB in each instance)
merged() { [ "$(cat "/proc/$a_pid/ksm_merging_pages" 2>/dev/null || echo 0)" -ge 2048 ]; }
i=0; until merged || [ $i -gt 150 ]; do sleep 0.2; i=$((i + 1)); done
mfs_mount "auto=15000" || { echo "Bail out! cannot mount mergefs"; exit 1; }

pruned_u() {
	set -- $(vma "$a_pid" $((A + 8 * 1048576))) $(vma "$a_pid" $((A + 14 * 1048576)))
	[ "$1" = 0 ] && [ "$3" = 0 ] && [ "$(pruned_in "$a_pid" "$A")" -ge 1 ]
}
i=0
until pruned_u || [ $i -gt 70 ]; do sleep 0.2; i=$((i + 1)); done
cycles=$(field "$MNT/stats" auto_cycles)
if [ "${cycles:-0}" = 0 ]; then
	skip 2 "another mergefs holds /run/mergefs-auto.lock: its controller acts"
	exit 0
fi
ok "the U chunks (8 MiB) are pruned before the second pass (auto_cycles $cycles, after $((i / 5)).$((i % 5 * 2)) s)" \
	sh -c "[ '$cycles' -eq 1 ] && [ $i -le 70 ]"
set -- $(vma "$a_pid" "$A")
ok "the S chunks stay merged (mg ${1:-?}, KSM ${2:-0} kB)" test "${1:-0}" = 1 -a "${2:-0}" -gt 0
grep -v '^#' "$MNT/$a_pid/regions" | sed 's/^/# a: /'
exec 4>&- 5>&-
done_testing
