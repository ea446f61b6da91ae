#!/bin/sh
# attach_blocked.sh - a thread stopped inside a blocking system call
# resumes exactly as if nothing had happened: read, nanosleep (its
# deadline kept through restart_syscall), a futex wait, epoll_wait and
# accept each return the program's own result after an attach (and a
# detach) in the middle. A receive with MSG_WAITALL that has part of its
# data is not stopped (a stop would return the part): another thread is. Multi-threaded targets keep running.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/attach/attach_common.sh"
at_setup
plan 20

attach_mid() { # attach_mid PID: attach then detach while it blocks
	at_wait_blocked "$1" &&
	"$K" attach --mode process "$1" > "$T/att.out" 2>&1 &&
	grep -q 'ksm_merge_any: yes' "/proc/$1/ksm_stat" &&
	"$K" detach "$1" >> "$T/att.out" 2>&1 ||
	{ diag "$(cat "$T/att.out")"; return 1; }
}

at_start rd "$TGT" read; P=$AT_PID
ok "read: attach and detach while blocked" attach_mid $P
at_send rd "hello-attach"
at_wait_line rd '^read '
is "$(cat "$T/rd.out" | sed -n 2p)" "read 13 hello-attach" "read: returns the data written after the attach"

at_start sl "$TGT" sleep 1500; P=$AT_PID
ok "nanosleep: attach and detach while blocked" attach_mid $P
at_reap $P
set -- $(sed -n 's/^sleep //p' "$T/sl.out")
diag "nanosleep: ret $1 errno $2 elapsed $4 ms"
ok "nanosleep: returns 0 after its full 1500 ms, not early" [ "$1" = 0 ] && [ "${4%.*}" -ge 1500 ]
ok "nanosleep: and not much later (< 2500 ms)" [ "${4%.*}" -lt 2500 ]

# Remaining time: attach during the sleep, then a signal ends it; the
# remaining time must still count from the original deadline.
at_start sr "$TGT" sleep 20000; P=$AT_PID
attach_mid $P
sleep 0.5
kill -USR1 $P
at_reap $P
set -- $(sed -n 's/^sleep //p' "$T/sr.out")
diag "nanosleep interrupted: ret $1 errno $2 elapsed $4 ms rem $6 ms"
tot=$(( ${4%.*} + ${6%.*} ))
ok "nanosleep: EINTR with elapsed + remaining = 20000 ms (+-100)" \
	[ "$1" = -1 ] && [ "$2" = 4 ] && [ $tot -ge 19900 ] && [ $tot -le 20100 ]

at_start fx "$TGT" futex; P=$AT_PID
ok "futex: attach and detach while the main thread waits" attach_mid $P
at_wait_blocked $P	# back in its wait (a restart re-reads the word)
at_send fx go
at_wait_line fx '^futex'
is "$(sed -n 2p "$T/fx.out")" "futex 0 0 word 1" "futex: the wait returns 0 after the real wake-up"

at_start ep "$TGT" epoll; P=$AT_PID
ok "epoll_wait: attach and detach while blocked" attach_mid $P
at_send ep data1
at_wait_line ep '^epoll'
is "$(sed -n 2p "$T/ep.out")" "epoll 1 data1" "epoll_wait: one event, the data written afterwards"

at_start ac "$TGT" accept "$T/sock"; P=$AT_PID
ok "accept: attach and detach while blocked" attach_mid $P
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' "$T/sock"
at_wait_line ac '^accept'
is "$(sed -n 2p "$T/ac.out")" "accept ok" "accept: returns the connection made afterwards"

for how in from msg; do
	at_start rv$how "$TGT" recvall $how; P=$AT_PID
	at_send rv$how part1
	sleep 0.2
	ok "recv$how MSG_WAITALL, 6 of 16 bytes in: attach and detach" attach_mid $P
	sleep 0.1	# a receive cut short has printed by now: no reader for a send
	grep -q '^recv' "$T/rv$how.out" || at_send rv$how part2-abc
	at_wait_line rv$how '^recv'
	is "$(sed -n 2p "$T/rv$how.out")" "recv 16" "recv$how MSG_WAITALL: all 16 bytes, not the part"
done

# SIGTRAP ignored: attach must not single-step it (the forced trap would
# reset the disposition); the syscall-stop way is used instead
at_start tp "$TGT" readtrap; P=$AT_PID
ok "SIGTRAP ignored: attach and detach while blocked" attach_mid $P
at_send tp "trap"
at_wait_line tp '^read '
is "$(sed -n 2p "$T/tp.out")" "read 5 trap trap-ignored 1" "SIGTRAP ignored: still ignored afterwards, read intact"

# multi-threaded: 8 threads ticking every millisecond
at_start mt "$TGT" hold 0x7a11ac50 4 8; P=$AT_PID
at_wait_blocked $P
out=$("$K" attach --mode process $P 2>&1)
ok "multi-threaded: attach works" grep -q 'ksm_merge_any: yes' "/proc/$P/ksm_stat"
sleep 0.3
at_send mt x
at_wait_line mt '^read '
set -- $(sed -n 's/^read //p' "$T/mt.out")
n=0; shift; for c in "$@"; do [ "$c" -gt 50 ] && n=$((n + 1)); done
is "$n" 8 "multi-threaded: all 8 threads kept running ($*)"
done_testing
