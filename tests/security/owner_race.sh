#!/bin/sh
# owner_race - regression test (issue 10, item 3): the owner check must
# be that of the process that gets steered. mergefs read the owner from
# /proc/PID/status, then attached whatever process had that pid by then:
# with the pid reused in between, uid 65534's "echo 0 > /PID/merge"
# unmerged uid 65533's process.
#
# In a new pid namespace, uid 65534 opens the merge file of its own
# process P; mergefs is started with KSMP_MERGEFS_RACE_MS=2000, which
# makes an open wait 2 s between taking the process's start time and
# attaching it (the window exists anyway; the hook makes it wide enough
# to hit every time). Within that window P is killed and its pid given
# (ns_last_pid) to a process V of uid 65533. The open must then fail
# (ENOENT: another process now), and V must stay merged and untouched.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/mergefs_common.sh"
mfs_init root fuse setpriv
command -v unshare >/dev/null 2>&1 || skip_all_env "unshare (util-linux) not installed"
unshare --pid --fork --mount-proc sh -c 'echo 100 > /proc/sys/kernel/ns_last_pid' 2>/dev/null ||
	skip_all_env "cannot create a pid namespace and set its ns_last_pid"

plan 5
export B P W MNT OUT
unshare --pid --fork --mount-proc sh -c '
	as() { u=$1; shift; exec setpriv --reuid "$u" --regid "$u" --clear-groups "$@"; }
	ready() { i=0; while ! grep -q "^ready" "$1" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.01; i=$((i + 1)); done; }
	KSMP_MERGEFS_RACE_MS=2000 "$B/mergefs/mergefs" -o allow_other,timeout=2000 "$MNT" || exit 1
	echo mounted > "$OUT/mounted"
	(as 65534 "$P/mergefs_target" -s 631 -K 64 > "$OUT/p") &
	x=$!
	ready "$OUT/p"
	(as 65534 "$W" "$MNT/$x/merge" 0 > "$OUT/w") &
	wp=$!
	sleep 0.6
	kill -9 $x; wait $x 2>/dev/null
	echo $((x - 1)) > /proc/sys/kernel/ns_last_pid
	(as 65533 "$P/mergefs_target" -s 632 -K 64 > "$OUT/v") &
	v=$!
	ready "$OUT/v"
	wait $wp
	sleep 0.2
	echo "$x $v" > "$OUT/pids"
	cat "$MNT/$v/merge" > "$OUT/vmerge" 2>&1
	sed -n "s/^commands //p" "$MNT/$v/stats" > "$OUT/vcmds" 2>&1
	kill -9 $v
	fusermount3 -u "$MNT"'
ok "mergefs mounts in a new pid namespace" test -s "$OUT/mounted"
set -- $(cat "$OUT/pids" 2>/dev/null)
diag "P (uid 65534) had pid ${1:-?}; V (uid 65533) got pid ${2:-?}; the write said $(cat "$OUT/w" 2>/dev/null)"
is "${2:-}" "${1:-none}" "the premise: uid 65533's process took the pid inside the window"
ok "uid 65534's write did not succeed ($(cat "$OUT/w" 2>/dev/null))" \
	sh -c "test -s '$OUT/w' && ! grep -q '^OK' '$OUT/w'"
is "$(cat "$OUT/vmerge" 2>/dev/null)" 1 "uid 65533's process is still merged"
is "$(cat "$OUT/vcmds" 2>/dev/null)" 0 "and received no command"
done_testing
