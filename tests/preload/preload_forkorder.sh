#!/bin/sh
# preload_forkorder.sh - fork handlers of other libraries registered before
# the library's (a constructor that runs before the library's:
# libksmpforkhook.so, preloaded after it) whose child handler maps and
# allocates. glibc runs child handlers in the order they were registered:
# before the library's own ran first, such a child found the parent's
# state block (not mapped in the child) and died of SIGSEGV at its first
# fork, and could find the library's locks held by the parent's other
# threads. ksmp-forkwalk forks (single-threaded, and with 5 threads on
# mmap/munmap and dlopen/dlclose); each child must run the handler, map,
# malloc and exit 0 under alarm(5). The multithreaded runs are not made
# under ASan (a multithreaded fork hangs there anyway).
# libksmpforkhookcompat.so registers the same handler through glibc's
# compat pthread_atfork, inside libc, past the library's
# __register_atfork: its child then died of SIGSEGV the same way. Its
# handler also exits 9 unless the child's own state block is mapped
# (the library's handler ran first), so runs with a policy file only.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
pl_need_lib
pl_tmp
plan 12
mkdir -p "$PL_TMP/empty.d"
POL=$(pl_policy any 'mode regions
merge any')

# run NAME THREADS POLICY-ENV: up to 300 forks in 8 s
HOOK=libksmpforkhook.so
run() {
	name=$1 threads=$2; shift 2
	out=$(timeout -s KILL 30 env LD_PRELOAD="$(ksmp_preload):$PROGS/$HOOK" \
		"$@" "$PROGS/ksmp-forkwalk" 300 8 "$PROGS/libksmpdata.so" "$threads" \
		2> "$PL_TMP/err")
	rc=$?
	diag "$name: '$out', exit $rc"
	[ -s "$PL_TMP/err" ] && head -n 5 "$PL_TMP/err" | sed 's/^/# /'
	is "$rc" 0 "$name: every child ran the other library's handler and exited 0"
	n=${out#forks }; n=${n%% *}
	ok "$name: it forked (${n:-no} forks)" [ "${n:-0}" -ge 1 ] 2>/dev/null
}

run "one thread, policy file" 0 KSMP_POLICY="$POL"
run "one thread, built-in default" 0 KSMP_POLICY_DIR="$PL_TMP/empty.d"
if sanitized; then
	skip 4 "sanitizer build: fork from a multithreaded parent hangs under ASan"
else
	run "5 threads, policy file" 5 KSMP_POLICY="$POL"
	run "5 threads, built-in default" 5 KSMP_POLICY_DIR="$PL_TMP/empty.d"
fi
HOOK=libksmpforkhookcompat.so
if [ ! -f "$PROGS/$HOOK" ]; then
	skip 4 "no compat pthread_atfork in this glibc"
else
	run "compat pthread_atfork, one thread" 0 KSMP_POLICY="$POL"
	if sanitized; then
		skip 2 "sanitizer build: fork from a multithreaded parent hangs under ASan"
	else
		run "compat pthread_atfork, 5 threads" 5 KSMP_POLICY="$POL"
	fi
fi
done_testing
