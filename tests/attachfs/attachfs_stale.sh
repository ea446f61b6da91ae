#!/bin/sh
# attachfs_stale.sh - a /PID/merge handle is good for the process it was
# opened on, as its owner then was: a writer (uid 65534) opens the merge
# file of its own process, which then execs a set-user-ID root program;
# the write through the handle kept open gets EACCES and tells nothing of
# the now privileged process (before, mergefs ran its checks and the
# command, and the kernel's EPERM came back), which is left untouched.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/attach/attach_common.sh"
. "$KSMP_SRCDIR/tests/mergefs_common.sh"
. "$KSMP_SRCDIR/tests/attachfs/attachfs_common.sh"
af_setup
chmod 755 "$T"
cp "$(command -v sleep)" "$T/suid-sleep" && chown 0:0 "$T/suid-sleep" && chmod 4755 "$T/suid-sleep"
mkfifo "$T/go" && chmod 666 "$T/go"

"$B/mergefs/mergefs" -f -o "allow_other,timeout=2000,ksmpreload=$K" "$MNT" 2> "$T/mergefs.err" &
MFS=$!
AT_PIDS="$AT_PIDS $MFS"
n=0; while ! grep -q "^[^ ]* $MNT fuse" /proc/mounts && [ $n -lt 300 ]; do sleep 0.01; n=$((n + 1)); done
grep -q "^[^ ]* $MNT fuse" /proc/mounts || { echo "Bail out! mergefs did not mount"; exit 1; }

# uid 65534's process, which will exec the set-user-ID copy of sleep
$NOB sh -c 'read x < "$1"; exec "$2" 60' sh "$T/go" "$T/suid-sleep" &
P=$!; AT_PIDS="$AT_PIDS $P"
# its owner's writer: open now, write when told
cat > "$T/writer.py" <<'PY'
import errno, os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY)
print("open", flush=True)
while not os.path.exists(sys.argv[2]):
    time.sleep(0.02)
try:
    os.write(fd, b"1")
    print("OK")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
PY
$NOB /usr/bin/python3 "$T/writer.py" "$MNT/$P/merge" "$T/now" > "$T/w.out" 2>&1 &
WP=$!; AT_PIDS="$AT_PIDS $WP"
n=0; while ! grep -q '^open' "$T/w.out" && [ $n -lt 200 ]; do sleep 0.02; n=$((n + 1)); done
plan 4
ok "the owner (uid 65534) opened the merge file of its process" grep -q '^open' "$T/w.out"
echo go > "$T/go"
n=0
until [ "$(awk '/^Uid:/ { print $3 }' "/proc/$P/status" 2>/dev/null)" = 0 ] || [ $n -ge 200 ]; do
	sleep 0.02; n=$((n + 1))
done
if [ "$(awk '/^Uid:/ { print $3 }' "/proc/$P/status" 2>/dev/null)" != 0 ]; then
	skip 3 "the set-user-ID copy did not run as root here (nosuid /tmp?)"
	done_testing
fi
ok "the process now runs a set-user-ID root program (euid 0)" true
touch "$T/now"
wait "$WP"
is "$(tail -n 1 "$T/w.out")" EACCES "the write through the handle kept open: EACCES"
ok "the process is untouched (not merging, not traced)" sh -c \
	"grep -q 'ksm_merge_any: no' /proc/$P/ksm_stat && grep -q '^TracerPid:[[:space:]]*0\$' /proc/$P/status"
done_testing
