#!/bin/sh
# security_owner - regression test (bugs-mergefs.md, "owner = real uid";
# fixed): a privileged process whose real uid is a user (setuid program:
# ruid 65534, euid 0; not dumpable) is not that user's: the kernel refuses
# the user its /proc/PID/maps and ksm_stat. mergefs must not give that
# user more than procfs does: not its region addresses (an ASLR leak), not
# its KSM figures (the side channel), and not the right to steer its
# merging ("merge ADDR LEN" would make any range of it, key material
# included, mergeable).
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
need_root
need_fuse
command -v setpriv >/dev/null 2>&1 || skip_all_env "setpriv (util-linux) not installed"
B=$KSMP_BUILDDIR
P=$B/tests/progs
W=$P/mergefs_write

MNT=$(mktemp -d /tmp/ksmp-secown.XXXXXX)
OUT=$(mktemp -d /tmp/ksmp-secown-out.XXXXXX)
PIDS=
cleanup() {
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null
	rmdir "$MNT" 2>/dev/null
	rm -rf "$OUT"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
bail() { echo "Bail out! $*"; exit 1; }

"$B/mergefs/mergefs" -o allow_other,timeout=2000 "$MNT" || bail "mount failed"
# the target publishes a state block and runs the real control agent
# (mergefs_fake.c + preload/control.c), so no LD_PRELOAD is needed, which
# the dynamic loader would ignore in a secure-execution process anyway
setpriv --ruid 65534 --euid 0 --rgid 65534 --egid 0 --clear-groups \
	"$P/mergefs_target" -s 311 -m 2 > "$OUT/t" &
PIDS=$!
pid=$!
i=0; while [ ! -s "$OUT/t" ] && [ $i -lt 300 ]; do sleep 0.01; i=$((i + 1)); done
addr=$(awk '/^ready/ {print $2}' "$OUT/t")
[ -n "$addr" ] || bail "target did not start"
user() { setpriv --reuid 65534 --regid 65534 --clear-groups "$@"; }
# the premise: the kernel itself refuses this user
user cat "/proc/$pid/maps" >/dev/null 2>&1 && bail "procfs lets the real uid read maps: premise wrong"
[ "$(cat "$MNT/$pid/merge")" = 1 ] || bail "target not merged at start"
diag "procfs refuses uid 65534 the maps of pid $pid (ruid 65534, euid 0)"

plan 4
is "$(user cat "$MNT/$pid/regions" 2>&1 >/dev/null | grep -c 'Permission denied')" 1 \
	"the real uid cannot read a privileged process's regions (addresses)"
is "$(user cat "$MNT/$pid/stats" 2>&1 >/dev/null | grep -c 'Permission denied')" 1 \
	"nor its KSM figures"
is "$(user "$W" "$MNT/$pid/regions" "merge $addr 4096")" EACCES \
	"nor make a range of it mergeable"
is "$(user "$W" "$MNT/$pid/merge" 0)" EACCES "nor unmerge it"
done_testing
