#!/bin/sh
# attach_threads.sh - attach considers every thread of a process when it
# looks for one it may stop (not in a write to a pipe or socket). It used
# to read only the first 64 thread ids: a process whose main thread and
# 70 more were blocked in writes was refused with EBUSY although its
# last thread slept in nanosleep. attach_target writers 70.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/attach/attach_common.sh"
at_setup
[ -r /proc/self/ksm_stat ] || skip_all_env "no /proc/PID/ksm_stat (kernel before 6.1)"
plan 4

at_start w "$TGT" writers 70; P=$AT_PID
sleep 0.3
n=$(ls /proc/$P/task | wc -l)
last=$(ls /proc/$P/task | sort -n | tail -n 1)
is "$n.$(cut -d' ' -f1 /proc/$P/task/$P/syscall)" 72.1 \
	"72 threads, the main one in write(2)"
KSMP_TEST_ATTACH_WRITE_WAIT_MS=500 "$K" attach --mode process --json $P > "$T/o" 2> "$T/e"
is "$?" 0 "attach finds the sleeping thread past the first 64"
sed 's/^/# /' "$T/o" "$T/e"
ok "it merges now" grep -q 'ksm_merge_any: yes' /proc/$P/ksm_stat
# nanosleep, clock_nanosleep, or restart_syscall after the stop
case $(cut -d' ' -f1 /proc/$P/task/$last/syscall) in 35|230|219) s=0;; *) s=1;; esac
is "$s" 0 "the last thread is back in its sleep"
done_testing
