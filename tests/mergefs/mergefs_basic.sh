#!/bin/sh
# mergefs_basic - a real mergefs mount: layout, contents, permissions for
# a second uid, bad writes, unmerge/re-merge through the control agent,
# ETIMEDOUT for blocked and stopped targets, a process that takes the
# control signal, SIGKILL of mergefs and remount, a randomised bad-write
# run. Targets are tests/progs/mergefs_target (a state block and the real
# control agent), plus the real library when it is built.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/mergefs_common.sh"
mfs_init root fuse setpriv
mount_fs() { mfs_mount allow_other,timeout=400; }

plan 57

ok "mergefs mounts" mount_fs
start t1 -s 101 -m 8
start t2 -s 102 -m 4 -b
start nolib -s 103 -m 2 -n
start own -s 104 -m 2 -o
start proc -s 105 -m 2 -P
start forged -s 106 -m 2 -X
t1_addr=$(awk '{print $2}' "$OUT/t1")
t1_len=$(awk '{print $3}' "$OUT/t1")

ls "$MNT" > "$OUT/ls"
ok "root lists stats, metrics, ksm" grep -qx stats "$OUT/ls"
ok "root lists the library target" grep -qx "$t1_pid" "$OUT/ls"
ok "root lists a KSM process without the library" grep -qx "$nolib_pid" "$OUT/ls"
ok "a process without KSM is not listed" sh -c "! grep -qx $$ '$OUT/ls'"
cat "$MNT/stats" > "$OUT/stats"
ok "stats has the kernel counters" grep -q '^pages_sharing [0-9]' "$OUT/stats"
ok "stats has derived figures" grep -q '^sharing_ratio [0-9]' "$OUT/stats"
n=$(field "$OUT/stats" processes_library)
ok "stats counts library processes ($n)" test "${n:-0}" -ge 3
cat "$MNT/metrics" > "$OUT/metrics"
ok "metrics is Prometheus text" grep -q '^# TYPE mergefs_ksm_pages_sharing gauge' "$OUT/metrics"
ok "metrics has per-process lines" grep -q "^mergefs_process_advised_bytes{pid=\"$t1_pid\",comm=\"mergefs_target\",cgroup=\"[^\"]*\",unit=\"[^\"]*\"} $t1_len\$" "$OUT/metrics"
is "$(cat "$MNT/ksm/pages_to_scan")" "$(cat /sys/kernel/mm/ksm/pages_to_scan)" "ksm knob reads through"

S=$MNT/$t1_pid
cat "$S/stats" > "$OUT/t1stats"
is "$(field "$OUT/t1stats" library)/$(field "$OUT/t1stats" steerable)" "1/1" "library target is steerable"
is "$(field "$OUT/t1stats" mmap_bytes)" "$t1_len" "stats show the bytes advised"
ok "stats show ksm_stat figures" grep -q '^ksm_merging_pages [0-9]' "$OUT/t1stats"
ok "regions lists the advised region" grep -q "^$(printf '%#x' "$t1_addr")-.* mmap 0 mergefs_target $t1_len mergeable\$" "$S/regions"
ok "policy shows name and text" grep -q '^name mergefs-test' "$S/policy"
ok "regions_ksm shows the mergeable mapping (from smaps)" \
	grep -q "^$(printf '%#x' "$t1_addr")-.* 1 mmap\$" "$S/regions_ksm"
is "$(cat "$S/merge")" 1 "merge reads 1"

N=$MNT/$nolib_pid
cat "$N/stats" > "$OUT/nstats"
is "$(field "$OUT/nstats" library)/$(field "$OUT/nstats" steerable)" "0/0" "process without the library is read-only"
ok "and says why" grep -q '^reason library not loaded' "$OUT/nstats"
is "$("$W" "$N/merge" 0)" EOPNOTSUPP "writing 0 to it: EOPNOTSUPP (it set merging up itself; attach did not)"

# process engine (prctl): merge_any follows the writes
PS=$MNT/$proc_pid
is "$(sed -n 's/^engine //p' "$PS/stats")/$(sed -n 's/^ksm_merge_any //p' "$PS/stats")" process/1 "process-mode target: prctl on"
if sanitized; then
	# prctl(PR_SET_MEMORY_MERGE, 0) walks ASan's terabytes of shadow
	# mappings: about 40 s here, far beyond this test's timeout.
	skip 4 "prctl 0 takes tens of seconds in an ASan process"
else
	ok "echo 0 > merge (process mode)" sh -c "echo 0 > '$PS/merge'"
	is "$(sed -n 's/^ksm_merge_any //p' "$PS/stats")/$(cat "$PS/merge")" 0/0 "prctl 0 done inside the target"
	ok "echo 1 > merge (process mode)" sh -c "echo 1 > '$PS/merge'"
	is "$(sed -n 's/^ksm_merge_any //p' "$PS/stats")" 1 "prctl 1 again"
fi

# a block whose identity does not match is never trusted
is "$(sed -n 's/^library //p' "$MNT/$forged_pid/stats")" 0 "block with a wrong start time is ignored"

# a second uid
nob() { setpriv --reuid 65534 --regid 65534 --clear-groups "$@"; }
is "$(nob cat "$S/stats" 2>&1 >/dev/null | grep -c "Permission denied")" 1 "another uid cannot read stats (EACCES)"
is "$(nob "$W" "$S/merge" 0)" EACCES "another uid cannot write merge"
cur=$(cat /sys/kernel/mm/ksm/pages_to_scan)
is "$(nob "$W" "$MNT/ksm/pages_to_scan" "$cur")" EACCES "another uid cannot write a knob"
ok "another uid can read the host stats" sh -c "setpriv --reuid 65534 --regid 65534 --clear-groups cat '$MNT/stats' >/dev/null"

# bad writes
is "$("$W" "$S/merge" garbage)" EINVAL "garbage to merge: EINVAL"
is "$("$W" "$S/merge" 1 5)" EINVAL "write at an offset: EINVAL"
is "$("$W" "$S/merge" @5000)" EINVAL "huge write: EINVAL"
is "$("$W" "$S/regions" "merge 0x1001 4096")" EINVAL "unaligned range: EINVAL"
is "$("$W" "$S/regions" "merge 0x1000 4096")" EINVAL "unmapped range: EINVAL"
is "$("$W" "$S/regions" "frob $t1_addr 4096")" EINVAL "unknown verb: EINVAL"

# unmerge and merge, checked in smaps
is "$(has_mg "$t1_pid" "$t1_addr")" yes "buffer starts mergeable"
ok "echo 0 > merge succeeds" sh -c "echo 0 > '$S/merge'"
is "$(has_mg "$t1_pid" "$t1_addr")/$(cat "$S/merge")" no/0 "unmerged at once (mg gone, merge reads 0)"
ok "echo 1 > merge succeeds" sh -c "echo 1 > '$S/merge'"
is "$(has_mg "$t1_pid" "$t1_addr")/$(cat "$S/merge")" yes/1 "merged again"
is "$("$W" "$S/regions" "unmerge $t1_addr 1048576")" OK "unmerge of a range"
is "$(has_mg "$t1_pid" "$t1_addr")" no "the range lost mg"

# targets that cannot answer
t0=$(date +%s%N)
is "$("$W" "$MNT/$t2_pid/merge" 0)" ETIMEDOUT "target blocking the signal: ETIMEDOUT"
t1=$(date +%s%N)
ok "within the timeout ($(( (t1 - t0) / 1000000 )) ms)" test $(( (t1 - t0) / 1000000 )) -lt 3000
kill -STOP "$t1_pid"
is "$("$W" "$S/merge" 0)" ETIMEDOUT "stopped target: ETIMEDOUT"
kill -CONT "$t1_pid"
i=0; while [ "$(sed -n 's/^commands_rejected //p' "$S/stats")" != 1 ] && [ $i -lt 200 ]; do sleep 0.01; i=$((i + 1)); done
is "$(sed -n 's/^merge_state //p' "$S/stats")/$(sed -n 's/^commands_rejected //p' "$S/stats")" "1/1" \
	"the late signal is rejected, nothing done"

# a program that took the control signal after the agent started
ok "control works after the program took its signal" sh -c "echo 0 > '$MNT/$own_pid/merge'"

# the caller is a thread: a target writing to its own merge file from a
# second thread is recognised (EDEADLK = 35), not left to time out
start selfw -s 107 -m 1 -w "$MNT"
wait_line "$OUT/selfw" '^self'
is "$(sed -n 's/^self //p' "$OUT/selfw")" 35 "a thread of the target writing its own merge file: EDEADLK"

# a process that exits while its file is open: the read is complete
exec 3< "$MNT/$forged_pid/stats"
kill -9 "$forged_pid"; wait "$forged_pid" 2>/dev/null
ok "file opened before the process exited reads completely" sh -c "cat <&3 | grep -q '^saved_bytes '"
exec 3<&-

# randomised bad writes
"$P/mergefs_fuzz" "$MNT/$own_pid" 2000 "$own_pid" > "$OUT/fuzz2" 2> "$OUT/fuzz2.err" &
fz=$!
"$P/mergefs_fuzz" "$S" 3000 "$t1_pid" > "$OUT/fuzz" 2> "$OUT/fuzz.err"
wait "$fz"
ok "a concurrent fuzzer on another target too ($(cat "$OUT/fuzz2"))" grep -q 'unexpected 0$' "$OUT/fuzz2"
sed 's/^/# /' "$OUT/fuzz.err" | head -n 20
ok "randomised writes, seed $t1_pid: all answered, none wrongly accepted ($(cat "$OUT/fuzz"))" \
	grep -q '^answered [0-9]* unexpected 0$' "$OUT/fuzz"

# a dead target's block is unmapped from mergefs (nothing outlives it)
mfs=$(mfs_pid)
ino=$(awk '/ksmpreload-state/ {print $5; exit}' "/proc/$selfw_pid/maps")
cat "$MNT/$selfw_pid/stats" > /dev/null
ok "mergefs maps the block of a live target" grep -q " $ino .*ksmpreload-state" "/proc/$mfs/maps"
kill -9 "$selfw_pid"; wait "$selfw_pid" 2>/dev/null
ls "$MNT" > /dev/null
ok "and unmaps it once the target is gone" sh -c "! grep -q ' $ino .*ksmpreload-state' /proc/$mfs/maps"

# SIGKILL of mergefs: targets unharmed, remount works
kill -9 "$mfs" 2>/dev/null
sleep 0.1
fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT"
ok "targets survive mergefs SIGKILL" kill -0 "$t1_pid" "$t2_pid" "$own_pid"
mount_fs
ok "remount works and the target answers" sh -c "echo 1 > '$S/merge'"
done_testing
