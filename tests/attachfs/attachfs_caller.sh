#!/bin/sh
# attachfs_caller.sh - mergefs reads the groups and capabilities of the
# writer of /PID/merge (a process without the library) from
# /proc/TID/status of the calling thread, and trusts that read only when
# the thread is still the caller: inside a write call, with the request's
# fsuid and fsgid, and the same start time before and after the read;
# else the write fails with EACCES (attach.c: caller_creds). That the tid
# cannot change hands meanwhile rests on FUSE holding the caller until
# the answer: checked here with a writer SIGKILLed while mergefs waits
# (KSMP_MERGEFS_CREDS_RACE_MS) before its read. It stays, in its write,
# until the answer, and is then served as itself.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/attach/attach_common.sh"
. "$KSMP_SRCDIR/tests/mergefs_common.sh"
. "$KSMP_SRCDIR/tests/attachfs/attachfs_common.sh"
af_setup
KSMP_MERGEFS_CREDS_RACE_MS=1200
export KSMP_MERGEFS_CREDS_RACE_MS
af_mount
unset KSMP_MERGEFS_CREDS_RACE_MS
af_mounted || { echo "Bail out! mergefs did not mount"; exit 1; }
plan 4

at_start a $NOB "$TGT" read; A=$AT_PID
$NOB "$W" "$MNT/$A/merge" 1 > "$T/w.out" 2>&1 &
WP=$!
sleep 0.4
kill -9 "$WP"
sleep 0.3
st=$(sed 's/.*) \(.\).*/\1/' "/proc/$WP/stat" 2>/dev/null)
nr=$(cut -d' ' -f1 "/proc/$WP/syscall" 2>/dev/null)
case $nr in 1|18) nr=write;; esac	# write, pwrite64
is "$st/$nr" "D/write" "a writer SIGKILLed while mergefs serves it stays, in its write, until the answer"
wait "$WP" 2>/dev/null
is "$(merge_any "$A")" yes "its write was served, as itself (its thread was still the caller)"
"$W" "$MNT/$A/merge" 0 > /dev/null 2>&1
is "$(merge_any "$A")" no "root detaches it"
ok "mergefs has no child process left" [ "$(pgrep -P "$MFS" | wc -l)" -eq 0 ]
done_testing
