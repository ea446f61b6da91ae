#!/bin/sh
# exec_reattach - regression test (issue 10, item 7): a process that
# execs keeps its pid and start time but drops its state block; the new
# program (under the library) makes its own. mergefs kept the old block:
# it showed the old program's regions and every write timed out (the
# command went into a block nobody serves). Now it notices that the block
# is no longer mapped there (map_files) and attaches the new one.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/mergefs_common.sh"
mfs_init root fuse
mfs_mount allow_other,timeout=1000 || { echo "Bail out! mount failed"; exit 1; }

start t -s 671 -K 64 -E "exec '$P/mergefs_target' -s 672 -K 128"
pid=$t_pid
plan 4
ok "before the exec: the first program's 64 KiB region" grep -q ' 65536 mergeable$' "$MNT/$pid/regions"
kill -USR1 "$pid"
i=0; while [ "$(grep -c '^ready' "$OUT/t")" -lt 2 ] && [ $i -lt 300 ]; do sleep 0.01; i=$((i + 1)); done
is "$(grep -c '^ready' "$OUT/t")" 2 "the process exec'd a new program (same pid)"
ok "after it: the new program's 128 KiB region" grep -q ' 131072 mergeable$' "$MNT/$pid/regions"
is "$("$W" "$MNT/$pid/merge" 0)" OK "and a write reaches the new program"
done_testing
