#!/bin/sh
# safety_reuse - writes racing against exiting processes and reused pids:
# in a new pid namespace (unshare --pid --fork --mount-proc) where
# /proc/sys/kernel/ns_last_pid hands a killed target's pid to a fresh
# process under the library, writes meant for the old process (through
# handles opened before it died, in flight when it died, or racing its
# death) must give ENOENT and never reach the new one (its commands
# counter and merge state unchanged); tests/progs/safety_reuse.c.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/mergefs_common.sh"
mfs_init root fuse
[ -f "$(ksmp_lib)" ] || skip_all "libksmpreload.so not built"
command -v unshare >/dev/null 2>&1 || skip_all_env "unshare (util-linux) not installed"
unshare --pid --fork --mount-proc sh -c 'echo 100 > /proc/sys/kernel/ns_last_pid' 2>/dev/null ||
	skip_all_env "cannot create a pid namespace and set its ns_last_pid"
ROUNDS=${KSMP_SAFETY_ROUNDS:-20}
cat > "$OUT/reuse.policy" <<'POL'
name    safety-reuse
mode    regions
control yes
merge   any
POL

plan 5
export B P MNT OUT ROUNDS
export SAFETY_PRELOAD="$(ksmp_preload)" SAFETY_POLICY="$OUT/reuse.policy" SAFETY_TIMEOUT=2
t0=$(date +%s)
unshare --pid --fork --mount-proc sh -c '
	"$B/mergefs/mergefs" -o allow_other,timeout=2000 "$MNT" || exit 1
	echo mounted > "$OUT/mounted"
	"$P/safety_reuse" "$MNT" "$ROUNDS" "$P/mergefs_target" sleep 1000 \
		> "$OUT/reuse" 2> "$OUT/reuse.err"
	echo $? > "$OUT/reuse.rc"
	ls "$MNT" > /dev/null && grep -q "^processes_library " "$MNT/stats" &&
		echo alive > "$OUT/alive"
	fusermount3 -u "$MNT"'
took=$(($(date +%s) - t0))
ok "mergefs mounts in a new pid namespace" test -s "$OUT/mounted"
sed 's/^/# /' "$OUT/reuse"
head -n 20 "$OUT/reuse.err" | sed 's/^/# /'
is "$(cat "$OUT/reuse.rc" 2>/dev/null)" 0 \
	"$ROUNDS rounds of stale, in-flight and racing writes: all ENOENT, the new process untouched"
set -- $(cat "$OUT/reuse")
# rounds N reused S/I/R wrong W
is "${4:-}" "$ROUNDS/$ROUNDS/$ROUNDS" "the killed target's pid was taken by the new process every time"
ok "mergefs still serves after the races" test -s "$OUT/alive"
ok "bounded time (${took} s < 30 s)" test "$took" -lt 30
done_testing
