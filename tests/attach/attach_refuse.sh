#!/bin/sh
# attach_refuse.sh - `ksmpreload attach` refuses, with exit status 1, a
# message saying why, and nothing touched: a traced process, a zombie, a
# stopped process, a kernel thread, a process of another user (no
# CAP_SYS_PTRACE), a process of its own user that is not dumpable, a
# missing pid, a 32-bit (i386) program (refused before any thread is
# stopped: its write to a pipe is not cut short); usage errors exit 2.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/attach/attach_common.sh"
at_setup
plan 28

untouched() { # untouched PID: no merging, no record
	grep -q 'ksm_merge_any: no' "/proc/$1/ksm_stat" && [ ! -e "$T/rec/$1" ]
}

at_start rd "$TGT" read; P=$AT_PID
at_start tr "$TGT" trace $P
"$K" attach --mode process $P > "$T/o" 2> "$T/e"
is "$?" 1 "traced: exit 1"
ok "traced: says it is already traced" grep -q "refused: it is already traced (by pid $AT_PID)" "$T/e"
ok "traced: nothing touched" untouched $P
kill -9 $AT_PID; at_reap $AT_PID

at_start zb "$TGT" zombie
Z=$(sed -n 's/^child //p' "$T/zb.out")
n=0; while [ "$(sed 's/.*) \(.\).*/\1/' /proc/$Z/stat)" != Z ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n+1)); done
"$K" attach $Z > "$T/o" 2> "$T/e"
is "$?" 1 "zombie: exit 1"
ok "zombie: says so" grep -q "refused: it is a zombie" "$T/e"

kill -STOP $P
n=0; while [ "$(sed 's/.*) \(.\).*/\1/' /proc/$P/stat)" != T ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n+1)); done
"$K" attach --mode process $P > "$T/o" 2> "$T/e"
is "$?" 1 "stopped: exit 1"
ok "stopped: says so" grep -q "refused: it is stopped" "$T/e"
is "$(sed 's/.*) \(.\).*/\1/' /proc/$P/stat)" T "stopped: it stays stopped"
ok "stopped: nothing touched" untouched $P
kill -CONT $P

"$K" attach 2 > "$T/o" 2> "$T/e"
is "$?" 1 "kernel thread: exit 1"
ok "kernel thread: says so" grep -q "refused: it is a kernel thread" "$T/e"

# another user's process, from an unprivileged attacher
nob_attach() { # attach PID in process mode as uid 65534, without capabilities
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$K" attach --mode process "$1" > "$T/o" 2> "$T/e"
}
if setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
	nob_attach $P
	is "$?" 1 "another user's process: exit 1"
	ok "another user's process: names the missing CAP_SYS_PTRACE" \
		grep -q "refused: it belongs to another user (uid 0) and this process lacks CAP_SYS_PTRACE" "$T/e"
	ok "another user's process: nothing touched" untouched $P
	# its own user's process that made itself not dumpable (as a program
	# holding secrets may): the kernel refuses, and attach says why
	setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 -c '
import ctypes, sys, time
ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)	# PR_SET_DUMPABLE 0
print("ready", flush=True)
time.sleep(60)' > "$T/nd.out" 2>&1 &
	ND=$!; AT_PIDS="$AT_PIDS $ND"
	n=0; while ! grep -q ready "$T/nd.out" && [ $n -lt 100 ]; do sleep 0.05; n=$((n+1)); done
	nob_attach $ND
	is "$?" 1 "its own user's process, not dumpable: exit 1"
	ok "not dumpable: says so and names CAP_SYS_PTRACE" \
		grep -q "refused: it is not dumpable (set-user-ID, or PR_SET_DUMPABLE 0) and this process lacks CAP_SYS_PTRACE" "$T/e"
	ok "not dumpable: nothing touched" untouched $ND
	kill $ND; at_reap $ND
else
	skip 6 "setpriv cannot switch to uid 65534"
fi
if [ -r /proc/sys/kernel/yama/ptrace_scope ]; then
	skip 1 "Yama present: its message is checked by hand only (scope $(cat /proc/sys/kernel/yama/ptrace_scope))"
else
	skip 1 "Yama is not built into this kernel"
fi

# a thread that cannot stop (a vfork parent waits unkillably for its child)
at_start vf "$TGT" vfork 4000; V=$AT_PID
sleep 0.3
KSMP_TEST_ATTACH_STOP_TIMEOUT_MS=1000 "$K" attach --mode process $V > "$T/o" 2> "$T/e"
is "$?" 1 "a thread that does not stop: exit 1 after the timeout"
ok "a thread that does not stop: says so, nothing changed" \
	grep -q "it did not stop within 1.0 s (uninterruptible sleep, or a vfork parent): nothing was changed" "$T/e"
at_wait_line vf '^vfork done'
ok "a thread that does not stop: it carries on when its child exits, untraced" \
	sh -c "grep -q 'vfork done' '$T/vf.out'"

# a 32-bit program blocked in write(2) to a pipe after its first 64 KiB:
# its i386 call number (4) is x86_64's stat; a stop would cut it short
if ${CC:-cc} -m32 -nostdlib -static -ffreestanding -fno-pie -no-pie -O1 \
	-o "$T/i386" "$KSMP_SRCDIR/tests/attach/attach_i386.c" 2> "$T/cc.err"; then
	mkfifo "$T/p32" "$T/go32"
	"$T/i386" > "$T/p32" &
	W=$!; AT_PIDS="$AT_PIDS $W"
	( exec 3< "$T/p32"; read x < "$T/go32"; wc -c <&3 > "$T/n32" ) &
	R=$!; AT_PIDS="$AT_PIDS $R"
	n=0
	until [ "$(cut -d' ' -f1 "/proc/$W/syscall" 2>/dev/null)" = 4 ] || [ $n -ge 250 ]; do
		n=$((n + 1)); sleep 0.02
	done
	sleep 0.1
	"$K" attach --mode process $W > "$T/o" 2> "$T/e"
	is "$?" 1 "a 32-bit program: exit 1"
	ok "a 32-bit program: says so" grep -q "it is a 32-bit (i386) program" "$T/e"
	echo go > "$T/go32"
	wait $W; wrc=$?
	wait $R
	is "$wrc/$(cat "$T/n32")" "0/1048576" "a 32-bit program: its write was not cut short (all 1 MiB arrived)"
else
	diag "$(cat "$T/cc.err")"
	skip 3 "cannot build a 32-bit program here (cc -m32)"
fi

"$K" attach 999999999 > "$T/o" 2> "$T/e"
is "$?" 1 "a missing pid: exit 1"
"$K" attach no-such-program-name > "$T/o" 2> "$T/e"
is "$?" 1 "a name that matches nothing: exit 1"
"$K" attach --mode fast $P > "$T/o" 2> "$T/e"
is "$?" 2 "an unknown mode: exit 2"

at_send rd "still-here"
at_wait_line rd '^read '
is "$(sed -n 2p "$T/rd.out")" "read 11 still-here" "after all that, the target's read() is intact"
done_testing
