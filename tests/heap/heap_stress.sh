#!/bin/sh
# heap_stress.sh - 4 threads allocating, resizing and freeing blocks from
# the crypto object and from the program, freeing each other's, while one
# thread forks (the child allocates from the crypto object): no lost data,
# no failed allocation, no deadlock (a watchdog kills a hung run), with
# the crypto heap on (regions and process policies) and without.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
. "$KSMP_SRCDIR/tests/heap/heap_common.sh"
heap_setup
SECS=2
FORK=
FORKS='[1-9]'
if sanitized; then
	# ASan's runtime (GCC 12) deadlocks a child forked while other
	# threads hold its allocator's locks: the child hangs without the
	# library too.
	FORK=nofork
	FORKS='0'
	diag "sanitizer build: no fork during the stress (ASan's own fork deadlock)"
fi

stress() {
	name=$1; shift
	env "$@" timeout -s KILL 60 "$HC" "$HLIB" stress 4 $SECS $FORK > "$PL_TMP/s" 2>&1
	rc=$?
	is "$rc" 0 "$name: exit status"
	ok "$name: stress ok" grep -q "^stress ok [1-9][0-9]* $FORKS" "$PL_TMP/s"
	diag "$name: $(cat "$PL_TMP/s")"
}

plan 8
stress none -u LD_PRELOAD
stress default LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY_DIR="$PL_TMP/empty"
stress regions LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY="$POL_REGIONS"
stress process LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY="$POL_PROCESS"
done_testing
