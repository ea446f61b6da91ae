#!/bin/sh
# control_pause - a control command must not end the program's own wait:
# pause() and sigsuspend() return only once one of the PROGRAM's handlers
# ran. Regression test for a bug found by Python's test_itimer_real under
# mergefs toggling: pause() returned on the control signal alone.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
need_root
need_fuse
[ -f "$(ksmp_lib)" ] || skip_all "libksmpreload.so not built"
command -v python3 >/dev/null 2>&1 || skip_all_env "python3 not installed"
OUT=$(mktemp -d /tmp/ksmp-pause.XXXXXX)
MNT=$OUT/mnt
mkdir "$MNT"
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	fusermount3 -u "$MNT" 2>/dev/null
	rm -rf "$OUT"
}
trap cleanup EXIT INT TERM
"$KSMP_BUILDDIR/mergefs/mergefs" -o timeout=1000 "$MNT" || { echo "Bail out! mergefs mount failed"; exit 1; }
printf 'mode regions\ncontrol yes\nmerge mmap min=1M\n' > "$OUT/t.policy"

# wait_for KIND: a python3 program waits in KIND (pause or sigsuspend) for
# its SIGALRM, due 1.5 s after it starts; prints how long the wait took and
# whether its handler ran before the wait ended.
wait_for() {
	LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY="$OUT/t.policy" ASAN_OPTIONS=detect_leaks=0 \
	python3 -c '
import os, signal, sys, time
fired = []
signal.signal(signal.SIGALRM, lambda *a: fired.append(1))
open(sys.argv[2], "w").write("ready\n")
t0 = time.monotonic()
signal.setitimer(signal.ITIMER_REAL, 1.5)
if sys.argv[1] == "pause":
    signal.pause()
else:
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    mask = ctypes.create_string_buffer(128)
    libc.sigemptyset(mask)
    libc.sigsuspend(mask)
print("%.2f %d" % (time.monotonic() - t0, len(fired)), flush=True)
' "$1" "$OUT/ready.$1" > "$OUT/out.$1" &
	pid=$!
	for _ in $(seq 100); do [ -s "$OUT/ready.$1" ] && break; sleep 0.05; done
	sleep 0.3
	# two commands while the program waits; each must be carried out
	# without ending the wait (or time out), never wake it
	served=0
	sh -c "echo 0 > '$MNT/$pid/merge'" 2>/dev/null &&
		[ "$(cat "$MNT/$pid/merge")" = 0 ] && served=$((served + 1))
	sh -c "echo 1 > '$MNT/$pid/merge'" 2>/dev/null &&
		[ "$(cat "$MNT/$pid/merge")" = 1 ] && served=$((served + 1))
	wait "$pid"
	pid=
	echo "$(cat "$OUT/out.$1") $served"
}

plan 6
for kind in pause sigsuspend; do
	set -- $(wait_for $kind)
	took=$1 fired=$2 served=$3
	diag "$kind: waited ${took}s, handler ran: $fired, commands served: $served"
	ok "$kind returns only after the program's own handler ran" \
		awk -v t="$took" -v f="$fired" 'BEGIN { exit !(f == 1 && t >= 1.4) }'
	is "$served" 2 "$kind: commands are carried out while the program waits"
done
# A signal that is pending (blocked) when sigsuspend() unblocks it must end
# the wait at once, as the real call's atomic mask switch guarantees (what
# coreutils' timeout does with SIGCHLD). Once, a wrapper that switched the
# mask and then waited in two steps ran the handler in between and waited
# for ever.
res=$(LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY="$OUT/t.policy" ASAN_OPTIONS=detect_leaks=0 \
	timeout -s KILL 20 python3 -c '
import ctypes, os, signal, time
fired = []
signal.signal(signal.SIGCHLD, lambda *a: fired.append(1))
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGCHLD])
if os.fork() == 0:
    os._exit(0)
time.sleep(0.3)
libc = ctypes.CDLL(None, use_errno=True)
mask = ctypes.create_string_buffer(128)
libc.sigemptyset(mask)
t0 = time.monotonic()
libc.sigsuspend(mask)
print("%.2f %d" % (time.monotonic() - t0, len(fired)), flush=True)
')
set -- $res
diag "pending SIGCHLD: sigsuspend took ${1:-killed}s, handler ran: ${2:-0}"
ok "sigsuspend returns at once for a signal pending before it" \
	awk -v t="${1:-99}" 'BEGIN { exit !(t < 1.0) }'
is "${2:-0}" 1 "and the program's handler ran"
done_testing
