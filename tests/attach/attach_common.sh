# attach_common.sh - helpers for the `ksmpreload attach` tests (sourced
# after tap.sh; not a test itself).
#
#   at_setup                 root or skip; scratch dir $T (removed at exit,
#                            with every process started here); attach
#                            records kept in $T/rec
#   at_start TAG CMD...      start CMD with stdin from the fifo $T/TAG.in
#                            (kept open by a holder) and stdout to
#                            $T/TAG.out; its pid in AT_PID; waits for "ready"
#   at_send TAG TEXT         write a line to its stdin
#   at_wait_line TAG RE      wait (10 s) until its output has a line matching RE
#   at_wait_blocked PID      wait until its main thread sleeps in a system call
#   at_reap PID              wait for a started process to end
#   at_wait_pause ERRFILE    wait until the attacher, run with
#                            KSMP_TEST_ATTACH_PAUSE, says it paused; empty
#                            ERRFILE before starting it (`: > ERRFILE`):
#                            its own 2> truncates only once it runs, and a
#                            line left by an earlier attacher would pass
#   K, TGT, SEC, PROBE       the command and the test programs
K="$KSMP_BUILDDIR/cli/ksmpreload"
TGT="$KSMP_BUILDDIR/tests/attach/attach_target"
SEC="$KSMP_BUILDDIR/tests/attach/attach_seccomp"
PROBE="$KSMP_BUILDDIR/tests/progs/ksmp-probe"
T=""
AT_PIDS=""

at_cleanup() {
	for p in $AT_PIDS; do kill -9 "$p" 2>/dev/null; done
	for p in $AT_PIDS; do wait "$p" 2>/dev/null; done
	[ -n "$T" ] && rm -rf "$T"
}

at_setup() {
	[ -x "$K" ] && [ -x "$TGT" ] || skip_all "ksmpreload or attach_target not built"
	need_root
	[ "$(uname -m)" = x86_64 ] || skip_all "attach is x86_64 only"
	T=$(mktemp -d /tmp/ksmp-attach.XXXXXX)
	trap at_cleanup EXIT
	trap 'exit 1' INT TERM
	KSMP_ATTACH_DIR="$T/rec"
	export KSMP_ATTACH_DIR
}

at_wait_line() {
	n=0
	while ! grep -Eq "$2" "$T/$1.out" 2>/dev/null; do
		n=$((n + 1))
		if [ $n -gt 200 ]; then
			diag "timeout waiting for '$2' from $1: $(cat "$T/$1.out" 2>/dev/null)"
			return 1
		fi
		sleep 0.05
	done
}

at_start() {
	tag=$1; shift
	mkfifo "$T/$tag.in"
	"$@" < "$T/$tag.in" > "$T/$tag.out" 2>&1 &
	AT_PID=$!
	sleep 1000 > "$T/$tag.in" &
	AT_PIDS="$AT_PIDS $AT_PID $!"
	at_wait_line "$tag" '^ready'
}

at_send() {
	echo "$2" > "$T/$1.in"
}

at_wait_blocked() {
	n=0
	while :; do
		s=$(cut -d' ' -f1 "/proc/$1/syscall" 2>/dev/null)
		st=$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null)
		case $s in [0-9]*) [ "$st" = S ] && return 0;; esac
		n=$((n + 1))
		[ $n -gt 200 ] && { diag "pid $1 never blocked"; return 1; }
		sleep 0.02
	done
}

at_reap() {
	n=0
	while kill -0 "$1" 2>/dev/null && [ $n -lt 200 ]; do
		# a zombie child of this shell counts as ended
		case $(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null) in Z) break;; esac
		n=$((n + 1)); sleep 0.05
	done
	wait "$1" 2>/dev/null
}

at_wait_pause() {
	n=0
	while ! grep -q 'test pause at' "$1" 2>/dev/null; do
		n=$((n + 1)); [ $n -gt 250 ] && { diag "no pause"; return 1; }
		sleep 0.02
	done
}
