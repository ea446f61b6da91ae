#!/bin/sh
# attach_shortwrite.sh - attach and detach never cut a program's write
# short. A ptrace stop of a thread blocked in a write to a pipe makes
# write(2) return the part already written, and CPython 3.11 then loses
# the rest of a large sys.stdout.write. So attach stops only a thread that
# is not in such a write (proc.c: attach_pick_thread): a python3 writing
# 3 x 8 MiB to a slow reader, blocked in write(2) nearly all the time, is
# attached and detached over and over while every byte arrives. With the
# reader stopped, attach waits, then refuses with EBUSY, touching nothing.
# A thread busy in user space is still attached at once. And when a stop
# does cut a write short (forced with KSMP_TEST_ATTACH_ANY_THREAD: attach
# then stops the writer in its write), attach writes the rest itself and
# the program's call returns the whole count.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/attach/attach_common.sh"
at_setup
PY=/usr/bin/python3
[ -x "$PY" ] || skip_all_env "python3 not installed"
plan 13
. "$KSMP_SRCDIR/tests/shortwrite_common.sh"
sw_files "$T" ksmp-attach-shortwrite
want=$SW_WANT
mkfifo "$T/fifo"
run() { # writer and reader through the fifo; sets W, R
	"$PY" "$T/reader.py" < "$T/fifo" > "$T/got" &
	R=$!; AT_PIDS="$AT_PIDS $R"
	"$PY" "$T/writer.py" > "$T/fifo" 2> "$T/writer.err" &
	W=$!; AT_PIDS="$AT_PIDS $W"
}

# churn LIMIT [VAR=VALUE...]: attach and detach the writer until it ends
# (at most LIMIT times), with VAR=VALUE in attach's environment; sets n
# (rounds), done_n (attached) and inwrite (rounds that saw it in write(2))
churn() {
	lim=$1; shift
	n=0 done_n=0 inwrite=0
	while kill -0 "$W" 2>/dev/null && [ "$n" -lt "$lim" ]; do
		grep -q '^1 ' "/proc/$W/syscall" 2>/dev/null && inwrite=$((inwrite + 1))
		env "$@" "$K" attach --mode process "$W" >> "$T/att.out" 2>> "$T/att.err" &&
			done_n=$((done_n + 1))
		"$K" detach "$W" >> "$T/att.out" 2>> "$T/att.err"
		n=$((n + 1))
		sleep 0.05
	done
}

run
sleep 0.4
churn 100000
wait "$W"; wrc=$?
wait "$R"
is "$wrc" 0 "the writer exits 0"
is "$(cat "$T/got")" "$want" "every byte arrived while it was attached and detached $n times (24 MiB, sha256)"
ok "attached meanwhile ($done_n times)" test "$done_n" -gt 0
diag "refusals: $(sed 's/.*refused: //' "$T/att.err" | sort | uniq -c | tr -s ' \n' ' ')"

# the reader stopped: the writer stays in write(2)
run
n=0	# the writer in its write first (the reader has opened the fifo)
until grep -q '^1 ' "/proc/$W/syscall" 2>/dev/null || [ $n -ge 250 ]; do n=$((n + 1)); sleep 0.02; done
kill -STOP "$R"
sleep 0.3
KSMP_TEST_ATTACH_WRITE_WAIT_MS=300 "$K" attach --json --mode process "$W" > "$T/j" 2> "$T/e"
rc=$?
is "$rc/$(cut -d' ' -f1 "/proc/$W/syscall")" "1/1" "blocked in write(2): attach exits 1, the thread still in its write"
ok "it says why, with EBUSY (--json)" sh -c "grep -q 'every thread is in a write' '$T/j' && grep -q '\"error\": *\"EBUSY\"' '$T/j'"
ok "nothing touched" grep -q 'ksm_merge_any: no' "/proc/$W/ksm_stat"
kill -CONT "$R"
wait "$W"; wrc=$?
wait "$R"
is "$wrc/$(cat "$T/got")" "0/$want" "when the reader goes on, every byte arrives"

# stopped in its write on purpose: the write is finished, nothing lost
run
n=0
until grep -q '^1 ' "/proc/$W/syscall" 2>/dev/null || [ $n -ge 250 ]; do n=$((n + 1)); sleep 0.02; done
churn 40 KSMP_TEST_ATTACH_ANY_THREAD=1
wait "$W"; wrc=$?
wait "$R"
is "$wrc/$(cat "$T/got")" "0/$want" "stopped in its write $done_n times: every byte arrived"
ok "attached in the write ($inwrite of $n looks saw write(2) just before)" test "$inwrite" -gt 0
ok "and attached ($done_n times)" test "$done_n" -gt 0

# a thread busy in user space (no system call) is attached at once
"$PY" -c 'print("ready", flush=True)
while True: pass' > "$T/busy.out" &
B=$!; AT_PIDS="$AT_PIDS $B"
n=0; until grep -q ready "$T/busy.out" || [ $n -ge 100 ]; do n=$((n + 1)); sleep 0.05; done
mkdir "$T/nopol"
KSMP_POLICY_DIR="$T/nopol" "$K" attach --json --mode process "$B" > "$T/o" 2> "$T/e"
is "$?" 0 "a thread busy in user space: attached"
# no file names python3: from outside, crypto allocations cannot be told
# apart, so attach takes the secure default, not the built-in one
ok "with no policy file for it, the policy is default-secure" grep -q '"policy": *"default-secure"' "$T/o"
ok "it merges now" grep -q 'ksm_merge_any: yes' "/proc/$B/ksm_stat"
kill "$B"
done_testing
