#!/bin/sh
# stress_nothing_lost - nothing is lost: 4 processes x 4 threads hold known
# data under the library, KSM merges it, then they keep rewriting it and
# forking checkers while mergefs toggles merge/unmerge of every one of
# them every ~300 ms; every byte is checked at the end
# (tests/progs/stress_nothing_lost.c). About 10 s.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
need_root
need_ksm
need_fuse
ksm_fast "$@"
B=$KSMP_BUILDDIR
P=$B/tests/progs/stress_nothing_lost
W=$B/tests/progs/mergefs_write
[ -f "$(ksmp_lib)" ] || skip_all "libksmpreload.so not built"

MNT=$(mktemp -d /tmp/ksmp-lost-mnt.XXXXXX)
OUT=$(mktemp -d /tmp/ksmp-lost.XXXXXX)
chmod 755 "$OUT"
WPID=
TPID=
cleanup() {
	touch "$OUT/stop"
	[ -n "$TPID" ] && wait "$TPID" 2>/dev/null
	[ -n "$WPID" ] && kill -9 "$WPID" 2>/dev/null
	fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null
	rmdir "$MNT" 2>/dev/null
	rm -rf "$OUT"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
cat > "$OUT/t.policy" <<'POL'
name    nothing-lost
mode    regions
control yes
merge   any
POL
"$B/mergefs/mergefs" -o allow_other,timeout=2000 "$MNT" || { echo "1..1"; echo "not ok 1 - mergefs mount failed"; exit 1; }

plan 6
seed=$(( $$ * 7919 + 11 ))
: > "$OUT/log"
env LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY="$OUT/t.policy" \
	timeout -s KILL 60 "$P" "$seed" 4 4 2048 6 > "$OUT/log" 2> "$OUT/err" &
WPID=$!
i=0; while ! grep -q '^go' "$OUT/log" && [ $i -lt 2000 ]; do sleep 0.01; i=$((i + 1)); done
merged=$(awk '/^go/ {print $2}' "$OUT/log")
ok "KSM merged the known data before the writes (${merged:-0} pages)" test "${merged:-0}" -gt 0

# the toggler: every ~300 ms, unmerge then re-merge every process of ours
# (the program, under timeout, and the 4 processes it forked before "go";
# by pid, not by walking the listing, which on a busy host holds every
# process with KSM and made the rounds too slow)
main=$(cat /proc/$WPID/task/*/children 2>/dev/null | tr ' ' '\n' | sed -n 1p)
procs="$main $(cat /proc/$main/task/*/children 2>/dev/null)"
(
	v=0
	while [ ! -e "$OUT/stop" ]; do
		for p in $procs; do
			"$W" "$MNT/$p/merge" "$v" >> "$OUT/toggles" 2>/dev/null
		done
		v=$((1 - v))
		sleep 0.3
	done
) &
TPID=$!
wait "$WPID"
rc=$?
WPID=
touch "$OUT/stop"
wait "$TPID"
TPID=
sed 's/^/# /' "$OUT/log"
[ -s "$OUT/err" ] && sed -n '1,10s/^/# err: /p' "$OUT/err"
is "$rc" 0 "every process exited cleanly and found every byte intact"
is "$(awk '/^proc/ {s += $10} END {print s + 0}' "$OUT/log")" 0 "no wrong line at the end or in spot checks"
forks=$(awk '/^proc/ {s += $6} END {print s + 0}' "$OUT/log")
ok "forked checkers ran ($forks), all passed" sh -c "[ $forks -gt 0 ] && [ \"\$(awk '/^proc/ {s += \$8} END {print s + 0}' '$OUT/log')\" = 0 ]"
n=$(grep -c '^OK$' "$OUT/toggles" 2>/dev/null || true)
diag "toggle results: $(sort "$OUT/toggles" 2>/dev/null | uniq -c | tr -s ' \n' ' ')"
# a command may wait for its timeout (2 s) while four threads and their
# forks contend for the memory map with the unmerge: a few rounds only;
# under the sanitizers fewer still (a CI run of the ASan build got 1 OK,
# 1 ETIMEDOUT, then ENOENT as the processes ended: 5 toggles in 10 s)
least=2
sanitized && least=1
ok "merge/unmerge toggles reached the processes (${n:-0}, at least $least)" test "${n:-0}" -ge "$least"
writes=$(awk '/^proc/ {s += $4} END {print s + 0}' "$OUT/log")
ok "the threads kept writing ($writes line writes)" test "$writes" -gt 10000
done_testing
