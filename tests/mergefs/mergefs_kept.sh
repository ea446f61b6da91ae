#!/bin/sh
# mergefs_kept - the harness keeps what mergefs says (tests/auto sets
# MFS_KEEP_OUTPUT=1; tests/mergefs_common.sh): daemonised, mergefs's
# stderr goes to /dev/null, so a test whose mergefs died (one did under
# the sanitizers in tests/auto/auto_backoff) showed nothing of why.
# mergefs -f runs in the background with its output and exit status in
# $OUT/mergefs.out; killed by SIGSEGV here, the file must say so (with
# ASan's report in the sanitizer build), and the
# cleanup print it as TAP comments; a second mergefs, unmounted, must
# leave no process. auto=0: no controller (it would take the host's
# mode auto lock from another test).
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/mergefs_common.sh"
mfs_init root fuse
MFS_KEEP_OUTPUT=1
plan 6
ok "mergefs -f mounts" mfs_mount auto=0
p=$(mfs_pid)
ok "it serves the mount (pid ${p:-none})" test -n "$p" -a -r "$MNT/stats"
kill -SEGV "$p" 2>/dev/null
i=0; while ! grep -q '^mergefs exited' "$OUT/mergefs.out" 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.05; i=$((i + 1)); done
# 139: SIGSEGV; in the sanitizer build ASan's report, then its abort (134)
st=$(tail -n 1 "$OUT/mergefs.out" 2>/dev/null)
if sanitized; then
	want="mergefs exited with status 134"
	grep -q "AddressSanitizer: SEGV" "$OUT/mergefs.out" || st="no ASan report: $st"
else
	want="mergefs exited with status 139"
fi
is "$st" "$want" "its death (SIGSEGV) is in its kept output"
# what mfs_cleanup prints when mergefs was gone before the end
out=$(mfs_cleanup; echo end)
printf '%s\n' "$out" | grep -qx "# $want"
ok "the cleanup shows it as a TAP comment" test $? -eq 0
# mfs_cleanup removed both: start again for the second mergefs
mfs_init root fuse
MFS_KEEP_OUTPUT=1
ok "mergefs -f mounts again" mfs_mount auto=0
mp=$(mfs_pid)
fusermount3 -u "$MNT"
mfs_reap
ok "unmounted and reaped, it is gone" test -n "$mp" -a ! -d "/proc/${mp:-0}"
done_testing
