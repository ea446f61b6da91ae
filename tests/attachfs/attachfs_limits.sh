#!/bin/sh
# attachfs_limits.sh - what a writer to /PID/merge of a process without
# the library cannot get from mergefs (root) through the attach child:
#   - a writer of uid 0 runs the command with only the capabilities its
#     thread has in effect: without CAP_SYS_PTRACE it cannot ptrace a
#     uid-65534 process (before, the child kept all of mergefs's); root of
#     a child user namespace has none here, whatever its CapEff says;
#   - attach records of processes that ended are dropped at the next
#     save: 20 attach-then-exit cycles of uid 65534 leave none behind in
#     root's record directory (before, one each, for good);
#   - a process running the library is never sent down the attach path
#     (ptrace would override its policy): one whose maps run past
#     mergefs's budget, so that it cannot be attached as a library
#     process, gets EAGAIN for 1 (before, it was made to merge as a
#     whole); 0 undoes only what an attach did: a process that set
#     merge_any by its own prctl gets EOPNOTSUPP for 0, "0 force" undoes
#     it (before, 0 undid it);
#   - children that outlive their write (past the 5 s, stopped by their
#     own uid) count against the uid until reaped: 8 of them, then EBUSY
#     at once, while another uid still attaches; before, the slot was
#     given back at the timeout and the children piled up;
# Real FUSE mount (-o allow_other), targets that never load the library
# (tests/attach/attach_target), judged by their ksm_stat and TracerPid.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/attach/attach_common.sh"
. "$KSMP_SRCDIR/tests/mergefs_common.sh"
. "$KSMP_SRCDIR/tests/attachfs/attachfs_common.sh"
need_ksm
af_setup
af_mount
af_mounted || { echo "Bail out! mergefs did not mount"; exit 1; }
plan 24

# A: root without capabilities gets none through mergefs
at_start a $NOB "$TGT" read; A=$AT_PID
nocap() { setpriv --inh-caps=-all --bounding-set=-all "$@"; }
is "$(nocap "$K" attach --mode process "$A" >/dev/null 2>&1; echo $?)/$(merge_any $A)" 1/no \
	"uid 0 without capabilities: ksmpreload attach of a uid-65534 process is refused"
is "$(nocap "$W" "$MNT/$A/merge" 1)" EPERM "the same writer through mergefs: EPERM"
ok "  the process is untouched" untouched $A
# root of a child user namespace: CapEff there is full, here it has none
if unshare -U --map-user=0 --map-group=0 true 2>/dev/null; then
	is "$(unshare -U --map-user=0 --map-group=0 "$W" "$MNT/$A/merge" 1)" EPERM \
		"uid 0 of a child user namespace (all capabilities there, none here): EPERM"
	ok "  the process is untouched" untouched $A
else
	skip_env 2 "unshare -U --map-user=0 not available"
fi

# the capabilities attach uses (ptrace, seccomp filters, /proc files, the record)
CAPS=+sys_ptrace,+sys_admin,+dac_override,+dac_read_search,+fowner,+setuid,+setgid,+kill
is "$(setpriv --inh-caps=-all --bounding-set=-all,$CAPS "$W" "$MNT/$A/merge" 1)/$(merge_any $A)" \
	OK/yes "uid 0 with only the capabilities attach uses: attached"
is "$("$W" "$MNT/$A/merge" 0)/$(merge_any $A)" OK/no "root (all capabilities) detaches it"

# B: lingering children stay counted. 8 processes of uid 65534 blocked
# in a write to a full pipe, so that each attach takes its 5 s (one
# attach at a time may trace a process); their owner ptraces every child
# and keeps it in a ptrace stop (a child runs as the writer: the writer
# may ptrace it), so the SIGTERM and SIGCONT of the timeout do not end
# it: it stays for the grace (2 minutes) unless the slots stay counted.
kids() { pgrep -P "$MFS" | wc -l; }
cat > "$T/holdkids.py" <<'PY'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
# PTRACE_SEIZE, then PTRACE_INTERRUPT: each stays in a ptrace stop, which
# neither SIGTERM nor SIGCONT ends (only SIGKILL)
held = [p for p in map(int, sys.argv[1:])
        if libc.ptrace(0x4206, p, 0, 0) == 0 and libc.ptrace(0x4207, p, 0, 0) == 0]
print("held %d\nready" % len(held), flush=True)
while held:
    pid, st = os.waitpid(-1, 0x40000000)
    if not os.WIFSTOPPED(st):
        held.remove(pid)
PY
chmod 755 "$T"
if [ "$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0)" = 0 ]; then
	VS=
	for i in 1 2 3 4 5 6 7 8; do
		at_start v$i $NOB /usr/bin/python3 -c 'import os
r, w = os.pipe()
print("ready", flush=True)
os.write(w, b"x" * (1 << 20))'
		VS="$VS $AT_PID"
	done
	i=0; for v in $VS; do i=$((i + 1)); $NOB "$W" "$MNT/$v/merge" 1 > "$T/w1.$i" & done
	n=0; while [ "$(kids)" -lt 8 ] && [ $n -lt 200 ]; do sleep 0.02; n=$((n + 1)); done
	at_start h $NOB /usr/bin/python3 "$T/holdkids.py" $(pgrep -P "$MFS")
	is "$(head -n 1 "$T/h.out")" "held 8" "uid 65534 holds the 8 children of its writes"
	sleep 5.5
	is "$(cat "$T"/w1.* | sort | uniq -c | tr -s ' ')" " 8 ETIMEDOUT" "its 8 writes end after 5 s: ETIMEDOUT"
	i=0; for v in $VS; do i=$((i + 1)); $NOB "$W" "$MNT/$v/merge" 1 > "$T/w2.$i" & done
	n=0; while [ "$(cat "$T"/w2.* | wc -l)" -lt 8 ] && [ $n -lt 150 ]; do sleep 0.02; n=$((n + 1)); done
	is "$(cat "$T"/w2.* | sort | uniq -c | tr -s ' ')" " 8 EBUSY" \
		"with those 8 children alive, 8 more writes: EBUSY at once"
	is "$(kids)" 8 "mergefs has 8 children, not 16"
else
	skip 4 "Yama ptrace_scope above 0: the writer cannot ptrace its children"
fi
at_start o setpriv --reuid 65533 --regid 65533 --clear-groups "$TGT" read; O=$AT_PID
is "$(setpriv --reuid 65533 --regid 65533 --clear-groups "$W" "$MNT/$O/merge" 1)/$(merge_any $O)" OK/yes \
	"another uid still attaches its process"
for c in $(pgrep -P "$MFS"); do kill -9 "$c"; done
n=0; while [ "$(kids)" -gt 0 ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
at_start a2 $NOB "$TGT" read; A2=$AT_PID
is "$($NOB "$W" "$MNT/$A2/merge" 1)/$(merge_any $A2)" OK/yes \
	"once they are reaped, uid 65534 attaches again"

# C: records of ended processes do not pile up in root's directory
for i in $(seq 1 20); do
	$NOB sleep 30 &
	S=$!
	n=0; while [ "$(cat /proc/$S/comm)" != sleep ] && [ $n -lt 100 ]; do sleep 0.01; n=$((n + 1)); done
	$NOB "$W" "$MNT/$S/merge" 1 >> "$T/cycles"
	kill $S; wait $S 2>/dev/null
done
is "$(sort "$T/cycles" | uniq -c | tr -s ' ')" " 20 OK" "uid 65534 attached 20 short-lived processes of its own"
at_start a3 $NOB "$TGT" read; A3=$AT_PID
is "$($NOB "$W" "$MNT/$A3/merge" 1)" OK "and one more, alive"
dead=0; live=0
for f in "$T"/rec/*; do
	if [ -d "/proc/${f##*/}" ]; then live=$((live + 1)); else dead=$((dead + 1)); fi
done
is "$dead/$live" 0/3 "root's record directory: no record of an ended process, 3 of live ones"

# D: the library's processes, and merging the program set up itself
long=$(printf '%0250d' 0 | tr 0 m)
d=$T/deep
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do d=$d/$long$i; done
mkdir -p "$d" && chmod -R a+rx "$T/deep" && head -c 4096 /dev/zero > "$d/f" && chmod 644 "$d/f"
at_start lb $NOB env LD_PRELOAD="$(ksmp_preload)" /usr/bin/python3 -c 'import mmap, sys
f = open(sys.argv[1], "rb")
keep = [mmap.mmap(f.fileno(), 4096, prot=mmap.PROT_READ) for _ in range(2000)]
print("ready", flush=True)
sys.stdin.read()' "$d/f"
LB=$AT_PID
ok "a uid-65534 process running the library, its maps past 4 MiB" sh -c \
	"grep -q libksmpreload /proc/$LB/maps && [ \$(wc -c < /proc/$LB/maps) -gt 4194304 ]"
is "$($NOB "$W" "$MNT/$LB/merge" 1)" EAGAIN "its owner writes 1: EAGAIN (not attached by ptrace)"
ok "  untouched (not merging as a whole, not traced)" sh -c \
	"[ \"\$(sed -n 's/^ksm_merge_any: //p' /proc/$LB/ksm_stat)\" = no ] &&
	grep -q '^TracerPid:[[:space:]]*0\$' /proc/$LB/status"
# a process without the library that maps a file whose path merely
# mentions it (a build tree) is attached as any other
mkdir -p "$T/libksmpreload-build" && head -c 4096 /dev/zero > "$T/libksmpreload-build/libksmpreload.so.notes" &&
	chmod -R a+rx "$T/libksmpreload-build"
at_start nl $NOB /usr/bin/python3 -c 'import mmap, sys
f = open(sys.argv[1], "rb")
keep = mmap.mmap(f.fileno(), 4096, prot=mmap.PROT_READ)
print("ready", flush=True)
sys.stdin.read()' "$T/libksmpreload-build/libksmpreload.so.notes"
NL=$AT_PID
is "$($NOB "$W" "$MNT/$NL/merge" 1)/$(merge_any $NL)" OK/yes \
	"a process mapping libksmpreload-build/libksmpreload.so.notes (not the library): attached"
at_start pr $NOB /usr/bin/python3 -c 'import ctypes, sys
print("prctl", ctypes.CDLL(None).prctl(67, 1, 0, 0, 0))
print("ready", flush=True)
sys.stdin.read()'
PR=$AT_PID
is "$(sed -n 's/^prctl //p' "$T/pr.out")/$(merge_any $PR)" 0/yes \
	"a uid-65534 process merges as a whole by its own prctl"
is "$($NOB "$W" "$MNT/$PR/merge" 0)/$(merge_any $PR)" EOPNOTSUPP/yes \
	"its owner writes 0: EOPNOTSUPP (no attach did it), it still merges"
is "$($NOB "$W" "$MNT/$PR/merge" "0 force")/$(merge_any $PR)" OK/no \
	"\"0 force\" undoes it"
ok "mergefs has no child process left" [ "$(kids)" -eq 0 ]
done_testing
