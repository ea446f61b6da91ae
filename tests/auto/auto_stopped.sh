#!/bin/sh
# auto_stopped - mode auto's controller while ksmd is slow or stopped: an
# instance of tests/auto/auto-prog is young and its chunks wait for
# ksmd's full scans (ksmd slow here: 16 pages per 100 ms), so the
# controller looks at it every 250 ms between passes. A look before
# ksmd's next full scan can judge nothing: it must not measure the
# process again (it did, four times a second for its first minute:
# ksmd's defaults take about a minute per GiB). With ksmd stopped (run 0, written
# through mergefs's ksm/run) no look may act; the controller must then
# sleep until its next pass, not wake again at once for the look still
# due (it spun a CPU, pass after pass, until ksmd ran again). Once ksmd
# runs again, passes go on.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/auto/auto_common.sh"
auto_init 4 -p 16 -s 100

printf 'mode auto\n' > "$OUT/auto.policy"
run a auto.policy 16 SSSSUUUU
exec 4> "$OUT/a.in"
wait_ready a
mfs_mount "auto=2000" || { echo "Bail out! cannot mount mergefs"; exit 1; }
followed() { [ -n "$(field "$MNT/$a_pid/stats" auto_followed_seconds)" ]; }
until_ 20 followed
need_acting 4
ok "the controller follows the young instance" followed
# chunks a look measures: 2 MiB chunks of each mergeable record
per_look() {
	awk 'function hex(s,  i, n) {
		n = 0; s = tolower(s); sub(/^0x/, "", s)
		for (i = 1; i <= length(s); i++)
			n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return n
	}
	$NF == "mergeable" { split($1, r, "-"); c = 2097152
		n += int((hex(r[2]) + c - 1) / c) - int(hex(r[1]) / c) }
	END { print n + 0 }' "$MNT/$a_pid/regions"
}
k=$(per_look)
# this instance's own count: the host's counts every mode auto process
# (other tests' programs run under the built-in default, mode auto)
m0=$(field "$MNT/$a_pid/stats" auto_chunks_measured) c0=$(field "$MNT/stats" auto_cycles)
f0=$(cat /sys/kernel/mm/ksm/full_scans)
sleep 3
m1=$(field "$MNT/$a_pid/stats" auto_chunks_measured) c1=$(field "$MNT/stats" auto_cycles)
f1=$(cat /sys/kernel/mm/ksm/full_scans)
looks=$(((m1 - m0) / (k > 0 ? k : 1)))
ok "ksmd slow (full scans $f0 -> $f1): $looks looks of $k chunks in 3 s, $((c1 - c0)) passes" \
	test "$k" -gt 0 -a "$looks" -le $((c1 - c0 + f1 - f0 + 1))
mp=$(mfs_pid)
# utime + stime of mergefs, in clock ticks (its name has no blanks)
cpu() { awk '{ print $14 + $15 }' "/proc/$mp/stat"; }
"$W" "$MNT/ksm/run" 0 > /dev/null
c0=$(cpu)
sleep 3
c1=$(cpu)
"$W" "$MNT/ksm/run" 1 > /dev/null
hz=$(getconf CLK_TCK)
ok "ksmd stopped for 3 s: the controller used $((c1 - c0)) ticks of CPU (at most $((3 * hz / 10)))" \
	test $((c1 - c0)) -le $((3 * hz / 10))
n0=$(field "$MNT/stats" auto_cycles)
more() { [ "$(field "$MNT/stats" auto_cycles)" -gt "$n0" ]; }
ok "ksmd running again, passes go on" until_ 10 more
exec 4>&-
done_testing
