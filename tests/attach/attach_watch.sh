#!/bin/sh
# attach_watch.sh - `ksmpreload attach --watch` attaches every process
# whose program a policy's program line names: one that was running
# before, new ones, one inside its own pid+user+mount namespaces; each
# once; never a process no policy names; SIGTERM ends it with status 0.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/attach/attach_common.sh"
at_setup
plan 9
mkdir "$T/pol"
# a name of this run's own: other tests' attach_target processes, which
# may run meanwhile, are not this watch's business
WT="$T/wt$$"
cp "$TGT" "$WT"
TGT=$WT
WN=$(basename "$WT")
printf 'name watched\nprogram %s\nmode process\n' "$WN" > "$T/pol/watched.policy"

merging() { # merging PID: wait (20 s) until it merges as a whole
	n=0
	until grep -q 'ksm_merge_any: yes' "/proc/$1/ksm_stat" 2>/dev/null; do
		n=$((n + 1)); [ $n -gt 400 ] && return 1; sleep 0.05
	done
}

at_start before "$TGT" read; B=$AT_PID
KSMP_POLICY_DIR="$T/pol" "$K" attach --watch --interval 100 > "$T/w.out" 2> "$T/w.err" &
W=$!
AT_PIDS="$AT_PIDS $W"
ok "a process running before the watch started is attached" merging $B
# a new process that the watch first sees as a shell, which then execs
# the program (as container entry points do)
at_start new /bin/sh -c 'sleep 1; exec "$0" read' "$TGT"; N=$AT_PID
ok "a new process is attached, also when it became the program by exec" merging $N
at_start other /bin/sh -c 'echo ready; read x'; O=$AT_PID
if unshare --pid --user --mount --fork --map-root-user true 2>/dev/null; then
	at_start ns unshare --pid --user --mount --fork --map-root-user "$TGT" read
	C=$(pgrep -P $AT_PID | head -1)
	ok "a process in its own namespaces is attached from the host" merging "$C"
else
	skip_env 1 "unshare --pid --user --mount does not work here"
fi
sleep 0.5
ok "a process no policy names is left alone" grep -q 'ksm_merge_any: no' "/proc/$O/ksm_stat"
is "$(grep -c "^$N $WN: process mode" "$T/w.out")" 1 "each process is attached once"
ok "the line names the policy" grep -q "^$N $WN: process mode: prctl(PR_SET_MEMORY_MERGE, 1) done; policy watched" "$T/w.out"
kill -TERM $W
wait $W
is "$?" 0 "SIGTERM ends the watch with status 0"
at_send new "after-watch"
at_wait_line new '^read '
is "$(sed -n 2p "$T/new.out")" "read 12 after-watch" "the attached process's read is intact"
grep -v 'watching every' "$T/w.err" | sed 's/^/# watch: /'
ok "the watch said nothing unexpected" sh -c "! grep -v 'watching every' '$T/w.err' | grep -q ."
done_testing
