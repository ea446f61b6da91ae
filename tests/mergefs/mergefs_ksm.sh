#!/bin/sh
# mergefs_ksm - real KSM through mergefs: three targets with the same
# (test-specific) data merge; unmerging one through its merge file drops
# its mg flag at once and its ksm_merging_pages after ksmd's next passes,
# while the others keep theirs; re-merging restores it. Also the knobs:
# a root write reaches sysfs, the kernel's own EINVAL comes back.
# Runs under tests/ksm-hold (fast ksmd, knobs restored; never run=2).
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/mergefs_common.sh"
need_root
need_ksm
need_fuse
[ -r /proc/self/ksm_stat ] || skip_all_env "kernel has no /proc/PID/ksm_stat"
ksm_fast "$@"
mfs_init

mpages() { sed -n 's/^ksm_merging_pages //p' "$MNT/$1/stats"; }
scans() { cat /sys/kernel/mm/ksm/full_scans; }
wait_scans() { # wait_scans N: full_scans advanced by N (10 s at most)
	s0=$(scans); i=0
	while [ $(( $(scans) - s0 )) -lt "$1" ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i + 1)); done
}
# wait_for PID OP VALUE: poll ksm_merging_pages (10 s at most)
wait_for() {
	i=0
	while [ $i -lt 200 ]; do
		v=$(mpages "$1"); [ "$v" "$2" "$3" ] && return 0
		sleep 0.05; i=$((i + 1))
	done
	echo "# pid $1: ksm_merging_pages $v"; return 1
}

plan 13
mfs_mount allow_other,timeout=2000 || { echo "1..0 # mount failed"; exit 1; }
seed=$(( $$ % 100000 + 424242 ))
start a -s "$seed" -m 8
start b -s "$seed" -m 8
start c -s "$seed" -m 8
pages=$(( 8 * 1048576 / $(getconf PAGESIZE) ))
a_addr=$(awk '{print $2}' "$OUT/a")

ok "target a merges" wait_for "$a_pid" -ge "$pages"
ok "target b merges" wait_for "$b_pid" -ge "$pages"
kb=$(awk -v a="$(printf '%#x' "$a_addr")" 'index($1, a"-") == 1 {print $3}' "$MNT/$a_pid/regions_ksm")
is "$kb" "$(( pages * $(getconf PAGESIZE) / 1024 ))" "regions_ksm shows the mapping's KSM kB"
ok "echo 0 > a/merge" sh -c "echo 0 > '$MNT/$a_pid/merge'"

mg=$(has_mg "$a_pid" "$a_addr")
is "$mg" no "a lost mg at once"
wait_scans 2
ok "a's ksm_merging_pages drops to 0" wait_for "$a_pid" -eq 0
ok "b keeps its merged pages" wait_for "$b_pid" -ge "$pages"
ok "c keeps its merged pages" wait_for "$c_pid" -ge "$pages"
ok "echo 1 > a/merge" sh -c "echo 1 > '$MNT/$a_pid/merge'"
ok "a merges again" wait_for "$a_pid" -ge "$pages"

# knobs: a root write reaches sysfs; the kernel's validation comes back
want=$(( $(cat /sys/kernel/mm/ksm/pages_to_scan) + 7 ))
is "$("$W" "$MNT/ksm/pages_to_scan" "$want")" OK "root writes pages_to_scan"
is "$(cat /sys/kernel/mm/ksm/pages_to_scan)" "$want" "the kernel has the new value"
is "$("$W" "$MNT/ksm/sleep_millisecs" "abc")" EINVAL "the kernel's EINVAL is passed through"
done_testing
