#!/bin/sh
# unmerge_oom - unmerging without waking the OOM killer (issue 14), with
# real KSM, the real library and a real memory cgroup made for the test
# (cgroup v1 or v2, removed on exit). Two programs share 32 MiB of merged
# pages in the group; with the group's limit just above its use,
# `echo 0 > merge` is refused with ENOMEM (logged, in stats), the savings
# stay and nobody is OOM-killed; `0 force` runs batches that stop before
# the limit, report what was left, and put the advice back; with headroom
# the unmerge completes in several batches and its progress reaches the
# total. Runs under tests/ksm-hold (fast ksmd, knobs restored).
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/mergefs_common.sh"
need_root
need_ksm
need_fuse
[ -r /proc/self/ksm_stat ] || skip_all_env "kernel has no /proc/PID/ksm_stat"
[ -f "$(ksmp_lib)" ] || skip_all "libksmpreload.so not built"
sanitized && skip_all "memory figures of an ASan build are not the program's (shadow memory)"

. "$KSMP_SRCDIR/tests/unmerge/cgroup_common.sh"
ksm_fast "$@"	# re-executes this script under ksm-hold: before making the group
cg_find || skip_all_env "no memory cgroup controller to make a child group in"
mfs_init setpriv
chmod 755 "$OUT"
MFS=
cleanup_all() {
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	[ -n "$MFS" ] && fusermount3 -u "$MNT" 2>/dev/null
	mfs_cleanup
	cg_remove
}
trap cleanup_all EXIT

cat > "$OUT/t.policy" <<'POL'
name    unmerge-oom
mode    regions
control yes
merge   mmap min=1M
POL
MIB=32
seed=$(( $$ % 100000 + 141414 ))
# cg_start NAME: a library program with MIB MiB, inside the group
cg_start() {
	spawn "$1" cg_exec env LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY="$OUT/t.policy" \
		"$P/mergefs_target" -n -A -s "$seed" -m "$MIB"
}
mpages() { sed -n 's/^ksm_merging_pages //p' "$MNT/$1/stats"; }
pages=$(( MIB * 1048576 / $(getconf PAGESIZE) ))
merged() { # merged PID: wait (20 s at most) until PID has all its pages merged
	i=0; while [ "$(mpages "$1")" -lt "$pages" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done
	[ "$(mpages "$1")" -ge "$pages" ]
}
alive() { kill -0 "$a_pid" 2>/dev/null && kill -0 "$b_pid" 2>/dev/null; }
st() { field "$MNT/$a_pid/stats" "$1"; }

plan 20
# foreground, so that its log (stderr) is ours to read
"$B/mergefs/mergefs" -f -o allow_other,unmerge_margin=8,unmerge_batch=2 "$MNT" 2> "$OUT/log" &
MFS=$!
i=0; until grep -q " $MNT fuse" /proc/mounts || [ $i -ge 100 ]; do sleep 0.05; i=$((i + 1)); done
cg_start a
cg_start b
addr=$(awk '{print $2}' "$OUT/a")
merged "$a_pid"; merged "$b_pid"
ok "a and b have all $pages pages merged" test "$(mpages "$a_pid")" -ge "$pages" -a "$(mpages "$b_pid")" -ge "$pages"

# --- limit just above the group's use: refused, nothing changes
u=$(usage); echo $(( u + 12 * 1048576 )) > "$CG/$LIM"
oom0=$(ooms)
diag "group use $((u >> 20)) MiB, limit $(( $(cat "$CG/$LIM") >> 20 )) MiB, oom_kill $oom0"
is "$("$W" "$MNT/$a_pid/merge" 0)" ENOMEM "echo 0 > merge is refused with ENOMEM"
is "$(st unmerge_state)/$(st merge_state)" refused/1 "stats: unmerge_state refused, merge_state still 1"
ok "stats give the need ($(st unmerge_total_bytes)) and the headroom ($(st unmerge_headroom_bytes) in $(st unmerge_limited_by))" \
	test "$(st unmerge_total_bytes)" -ge $(( MIB << 20 )) -a "$(st unmerge_headroom_bytes)" -lt $(( MIB << 20 ))
ok "mergefs logged the refusal" grep -q "pid $a_pid: unmerge refused" "$OUT/log"
is "$(has_mg "$a_pid" "$addr")" yes "a's memory is still advised"
ok "a's savings stay" test "$(mpages "$a_pid")" -ge "$pages"
is "$("$W" "$MNT/$a_pid/regions" "unmerge $addr $(( MIB << 20 ))")" ENOMEM "unmerge ADDR LEN is refused too"

# --- force: batches that stop before the limit
is "$("$W" "$MNT/$a_pid/merge" "0 force")" ENOMEM "echo '0 force' stops short with ENOMEM"
done_b=$(st unmerge_done_bytes); left=$(st unmerge_left_bytes)
is "$(st unmerge_state)/$(st merge_state)" stopped/1 "stats: unmerge_state stopped, merge_state 1"
ok "some batches ran ($(st unmerge_batches), $done_b bytes) and some was left merged ($left bytes)" \
	test "$(st unmerge_batches)" -ge 1 -a "$done_b" -gt 0 -a "$left" -gt 0
ok "the group stayed within its limit ($(( $(usage) >> 20 )) of $(( $(cat "$CG/$LIM") >> 20 )) MiB)" \
	test "$(usage)" -le "$(cat "$CG/$LIM")"
is "$(has_mg "$a_pid" "$addr")" yes "the batches' advice was put back (mg)"
ok "mergefs logged the stop" grep -q "pid $a_pid: unmerge stopped" "$OUT/log"
is "$(ooms)" "$oom0" "no OOM kill in the group"
ok "both programs are alive" alive

# --- enough headroom: completes in batches, progress reaches the total
echo $(( $(usage) + (MIB + 64) * 1048576 )) > "$CG/$LIM"
( while [ ! -e "$OUT/stop" ]; do grep '^unmerge_\(state\|done_bytes\)' "$MNT/$a_pid/stats" 2>/dev/null | tr '\n' ' '; echo; done ) > "$OUT/samples" &
is "$("$W" "$MNT/$a_pid/merge" 0)" OK "with headroom, echo 0 > merge succeeds"
touch "$OUT/stop"; wait $!
total=$(st unmerge_total_bytes)
mid=$(awk -v t="$total" '/running/ && $4 > 0 && $4 < t' "$OUT/samples" | wc -l)
ok "stats showed the progress while it ran ($mid samples between 0 and the total: $(grep running "$OUT/samples" | head -n 2 | tr '\n' ';'))" \
	test "$mid" -ge 1
ok "done (state $(st unmerge_state)): done_bytes $(st unmerge_done_bytes) = total $total, left 0, in $(st unmerge_batches) batches" \
	test "$(st unmerge_state)" = done -a "$(st unmerge_done_bytes)" = "$total" -a "$total" -gt 0 \
	-a "$(st unmerge_left_bytes)" = 0 -a "$(st unmerge_batches)" -ge 2
is "$(st merge_state)/$(has_mg "$a_pid" "$addr")/$(ooms)" "0/no/$oom0" "unmerged (merge_state 0, no mg), still no OOM kill"
done_testing
