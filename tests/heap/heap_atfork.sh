#!/bin/sh
# heap_atfork.sh - a crypto library's fork handlers, registered before the
# crypto heap's (its constructor runs before the library's), allocate in
# prepare, parent and child: fork must not deadlock on the crypto heap,
# which the forking thread holds from its prepare handler to its parent
# or child handler (libcrypto.so.ksmptest with KT_ATFORK=1, preloaded
# after the library so that its constructor runs first).
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
. "$KSMP_SRCDIR/tests/heap/heap_common.sh"
heap_setup

# run NAME ENV...: heap-check fork, killed after 20 s
run() {
	name=$1; shift
	timeout -s KILL 20 env "$@" KT_ATFORK=1 "$HC" "$HLIB" fork > "$PL_TMP/out" 2> "$PL_TMP/err"
	rc=$?
	is "$rc" 0 "$name: fork returns in parent and child (no deadlock)"
	ok "$name: fork ok" grep -qx "fork ok" "$PL_TMP/out"
	[ -s "$PL_TMP/err" ] && sed 's/^/# stderr: /' "$PL_TMP/err"
}

plan 8
run none LD_PRELOAD="${KSMP_ASAN_RUNTIME:+$KSMP_ASAN_RUNTIME:}$HLIB"
run default LD_PRELOAD="$(ksmp_preload):$HLIB" KSMP_POLICY_DIR="$PL_TMP/empty"
run regions LD_PRELOAD="$(ksmp_preload):$HLIB" KSMP_POLICY="$POL_REGIONS"
if [ -r /proc/self/ksm_stat ]; then
	run process LD_PRELOAD="$(ksmp_preload):$HLIB" KSMP_POLICY="$POL_PROCESS"
else
	skip 2 "kernel without PR_SET_MEMORY_MERGE (no /proc/self/ksm_stat)"
fi
done_testing
