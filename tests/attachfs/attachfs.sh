#!/bin/sh
# attachfs.sh - mergefs's /PID/merge for processes without the library
# (issue 11): a write runs `ksmpreload attach` / `detach` as the writer.
# A real FUSE mount (-o allow_other), real targets that never load the
# library (tests/attach/attach_target), real KSM under tests/ksm-hold,
# judged by each process's own counters: the owner (uid 65534) merges and
# unmerges its processes, stats name the attached engine, merge reads
# back; another uid is refused and its target untouched; the kernel's
# ptrace rules still apply to the owner (a target holding capabilities);
# a seccomp filter that would kill the target, traced, stopped, zombie,
# kernel thread and a target killed after the open each give their errno;
# mergefs keeps no child behind.

. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/attach/attach_common.sh"
. "$KSMP_SRCDIR/tests/mergefs_common.sh"
. "$KSMP_SRCDIR/tests/attachfs/attachfs_common.sh"
need_ksm
ksm_fast	# re-executes this script under ksm-hold: before af_setup's scratch dir
af_setup
plan 37
MIB=8
PAGES=$((MIB * 256))
SEED=0x7a11f5e1
nob() { $NOB "$@"; }
other() { setpriv --reuid 65533 --regid 65533 --clear-groups "$@"; }
st() { sed 's/.*) \(.\).*/\1/' "/proc/$1/stat"; }

# mergefs as root keeps its attach records in $T/rec (KSMP_ATTACH_DIR)
af_mount
ok "mergefs mounts (allow_other, ksmpreload=the build's)" af_mounted

# two processes of uid 65534 holding the same pages, one of root's
at_start n1 $NOB "$TGT" hold $SEED $MIB; N1=$AT_PID
at_start n2 $NOB "$TGT" hold $SEED $MIB; N2=$AT_PID
at_start r "$TGT" hold $SEED $MIB; R=$AT_PID
is "$(nob cat "$MNT/$N1/merge")" 0 "a process without KSM has a directory; merge reads 0"
is "$(stat -c '%A %u' "$MNT/$N1/merge")" "-rw------- 65534" "its merge file is writable by its owner"

# another user: refused by mergefs, the targets untouched
is "$(other "$W" "$MNT/$N1/merge" 1)/$(nob "$W" "$MNT/$R/merge" 1)" EACCES/EACCES \
	"another uid's write: EACCES (65533 on 65534's, 65534 on root's)"
ok "  65534's target untouched" untouched $N1
ok "  root's target untouched" untouched $R

# the owner merges its processes
is "$(nob "$W" "$MNT/$N1/merge" 1)/$(nob "$W" "$MNT/$N2/merge" 1)" OK/OK \
	"the owner (uid 65534) writes 1 to both: done"
is "$(merge_any $N1)/$(merge_any $N2)" yes/yes "both merge as a whole (ksm_merge_any)"
is "$(nob cat "$MNT/$N1/merge")" 1 "merge reads 1"
nob cat "$MNT/$N1/stats" > "$T/s1"
is "$(field "$T/s1" library)/$(field "$T/s1" engine)/$(field "$T/s1" mode)" 0/attached/process \
	"stats: no library, engine attached, mode process"
is "$(field "$T/s1" attach_last)" "attach ok" "stats: the last write's outcome"
ok "mergefs kept the record detach reads" grep -q '^process 1$' "$T/rec/$N1"
"$PROBE" plateau 30 $N1 $N2 > "$T/plateau"
diag "merging pages: $(tr '\n' ' ' < "$T/plateau")(of $PAGES each)"
for p in $N1 $N2; do
	n=$(sed -n "s/^$p //p" "$T/plateau")
	ok "pid $p merged (>= 90% of its $PAGES pages)" [ "${n:-0}" -ge $((PAGES * 9 / 10)) ]
done
is "$("$PROBE" stat $R ksm_merging_pages)/$(merge_any $R)" 0/no "root's process with the same pages stays unmerged"

# the owner unmerges
is "$(nob "$W" "$MNT/$N1/merge" 0)" OK "the owner writes 0: done"
A1=$(sed -n 's/^addr //p' "$T/n1.out")
is "$(merge_any $N1)/$("$PROBE" ksmkb $N1 "$A1")" no/0 "it no longer merges: 0 kB on KSM pages (smaps)"
is "$(nob cat "$MNT/$N1/merge")" 0 "merge reads 0"
ok "the record is gone, and stats name no engine" \
	sh -c "[ ! -e '$T/rec/$N1' ] && ! grep -q '^engine' '$MNT/$N1/stats'"
is "$(nob "$W" "$MNT/$N1/merge" 0)" OK "0 again: nothing to undo, done"

# root: the child stays root and writes the record itself
is "$("$W" "$MNT/$R/merge" 1)/$(merge_any $R)" OK/yes "root writes 1 to its process: it merges"
ok "its record" grep -q '^process 1$' "$T/rec/$R"
is "$("$W" "$MNT/$R/merge" 0)/$(merge_any $R)" OK/no "root writes 0: it no longer merges"

# the kernel's ptrace rules, not only mergefs's: a process of 65534 that
# holds a capability its owner lacks cannot be ptraced by that owner
at_start cap setpriv --reuid 65534 --regid 65534 --clear-groups --inh-caps +sys_nice \
	--ambient-caps +sys_nice "$TGT" read; C=$AT_PID
is "$(stat -c %u "$MNT/$C/merge")" 65534 "a 65534 process holding CAP_SYS_NICE: mergefs lets its owner in"
is "$(nob "$W" "$MNT/$C/merge" 1)" EPERM "but the kernel refuses the owner ptrace: EPERM"
ok "it is untouched, and stats say why (the capabilities it holds)" sh -c "[ \"\$(sed -n 's/^ksm_merge_any: //p' /proc/$C/ksm_stat)\" = no ] &&
	grep -q '^attach_last attach EPERM' '$MNT/$C/stats' && grep -q '^attach_message it holds capabilities' '$MNT/$C/stats'"

# a seccomp filter that would kill the process for the injected prctl
if [ -x "$SEC" ]; then
	at_start kp "$SEC" kill-prctl 0x5ecc7 1; KP=$AT_PID
	is "$("$W" "$MNT/$KP/merge" 1)" EPERM "a seccomp filter that would kill it for the prctl: EPERM"
	ok "  alive and untouched; stats say why" sh -c "kill -0 $KP &&
		[ \"\$(sed -n 's/^ksm_merge_any: //p' /proc/$KP/ksm_stat)\" = no ] &&
		grep -q '^attach_message .*seccomp filter would kill' '$MNT/$KP/stats'"
else
	skip 2 "built without libseccomp (tests/attach/attach_seccomp)"
fi

# traced, stopped, zombie, kernel thread
at_start q "$TGT" read; Q=$AT_PID
at_start tr "$TGT" trace $Q; TR=$AT_PID
is "$("$W" "$MNT/$Q/merge" 1)" EBUSY "a traced process: EBUSY"
ok "  untouched, still traced by its tracer" sh -c "[ \"\$(sed -n 's/^ksm_merge_any: //p' /proc/$Q/ksm_stat)\" = no ] &&
	grep -q '^TracerPid:[[:space:]]*$TR\$' /proc/$Q/status"
kill -9 $TR; at_reap $TR
kill -STOP $Q
n=0; while [ "$(st $Q)" != T ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
is "$("$W" "$MNT/$Q/merge" 1)/$(st $Q)" EBUSY/T "a stopped process: EBUSY, and it stays stopped"
kill -CONT $Q
at_start zb "$TGT" zombie
Z=$(sed -n 's/^child //p' "$T/zb.out")
n=0; while [ "$(st $Z)" != Z ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
is "$("$W" "$MNT/$Z/merge" 1)" ESRCH "a zombie: ESRCH"
is "$("$W" "$MNT/2/merge" 1)" EPERM "a kernel thread: EPERM"

# killed between the open and the write
exec 3> "$MNT/$Q/merge"
kill -9 $Q; at_reap $Q
e=$(python3 -c '
import errno, os
try:
    os.write(3, b"1")
    print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])')
exec 3>&-
is "$e" ESRCH "a process killed after the open: the write fails with ESRCH"

# the targets ran on undisturbed; mergefs keeps no child
at_send n2 x
at_wait_line n2 '^read 2'
ok "the attached program's read() returned its own data" grep -q '^read 2$' "$T/n2.out"
is "$(pgrep -P "$MFS" | wc -l)" 0 "mergefs has no child process left"
fusermount3 -u "$MNT"
wait "$MFS"
r=$?
ok "mergefs exits 0 when unmounted, with nothing on stderr (no sanitizer report)" \
	sh -c "[ $r -eq 0 ] && [ ! -s '$T/mergefs.err' ]"
[ -s "$T/mergefs.err" ] && diag "$(head -n 20 "$T/mergefs.err")"
done_testing
