#!/bin/sh
# preload_rawfork.sh - children made without fork handlers: _Fork(),
# syscall(SYS_fork) and clone() without CLONE_VM run no pthread_atfork
# handler, so the library's child handler never ran there, and the
# parent's state block (MADV_DONTFORK) is not mapped in them. Such a child
# died of SIGSEGV at its first mmap or malloc of 1 MiB. Now its first use
# of the library rebuilds its state (no records, the private block), and
# a fork() it makes afterwards goes through the handlers as usual. Each
# child (ksmp-rawfork) maps, mallocs, forks a grandchild that does the
# same, and must exit 0, under a policy file and the built-in default;
# and each must go on merging as its parent did: a fresh 8 MiB mapping
# advised (KSMP_TEST_WANT_MG=1; under a policy file such a child once
# advised nothing: its private block still said "unmerged", as it stood
# before the engine started). Then forks nested in a fork (from a
# signal handler) must not hang.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
pl_need_lib
pl_tmp
plan 6
mkdir -p "$PL_TMP/empty.d"
POL=$(pl_policy any 'mode regions
merge any')

run() {
	name=$1; shift
	out=$(timeout -s KILL 30 env LD_PRELOAD="$(ksmp_preload)" "$@" \
		"$PROGS/ksmp-rawfork" _Fork sysfork clone 2> "$PL_TMP/err")
	rc=$?
	printf '%s\n' "$out" | sed "s/^/# $name: /"
	[ -s "$PL_TMP/err" ] && head -n 5 "$PL_TMP/err" | sed 's/^/# /'
	is "$rc" 0 "$name: every child exited 0"
	is "$(printf '%s\n' "$out" | grep -c ': exit 0$')" 3 "$name: three children ran"
}

run "policy file" KSMP_POLICY="$POL" KSMP_TEST_WANT_MG=1
run "built-in default" KSMP_POLICY_DIR="$PL_TMP/empty.d" KSMP_TEST_WANT_MG=1

# forks from a SIGPROF handler inside this thread's own forks, with the
# crypto heap on (the built-in default): its fork handlers took their
# lock a second time in the nested fork and hung there
out=$(timeout -s KILL 30 env LD_PRELOAD="$(ksmp_preload)" \
	KSMP_POLICY_DIR="$PL_TMP/empty.d" "$PROGS/ksmp-rawfork" sigfork 2> "$PL_TMP/err")
rc=$?
printf '%s\n' "$out" | sed 's/^/# /'
is "$rc" 0 "nested forks from a signal handler: no hang"
is "$out" "sigfork: exit 0" "nested forks from a signal handler: the child finished"
done_testing
