#!/bin/sh
# heap_api.sh - the malloc family from a shared object named like a crypto
# library (libcrypto.so.ksmptest) and from the program, crossing over:
# the same results and errno without the library, with the default policy,
# and with policies that merge the heap (the built-in default, regions) or
# everything (process), or with jemalloc after the library (its extents
# are mmap regions the built-in default advises), where the crypto
# object's blocks must also be in neither [heap] nor a mapping with the mg
# flag. Also a child forked from
# a process that had another thread, which loads the crypto object only
# after the fork: the library cannot name that caller there (it no longer
# walks the loader) and keeps its block apart all the same, also when the
# parent unloaded another object where it lands just before the fork.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
. "$KSMP_SRCDIR/tests/heap/heap_common.sh"
heap_setup

# run NAME ENV...: heap-check api, one TAP line per check
run() {
	name=$1; shift
	env "$@" "$HC" "$HLIB" api $SEG > "$PL_TMP/out" 2> "$PL_TMP/err"
	rc=$?
	while read -r st rest; do
		case $st in
		ok) _tap_result 0 "$name: $rest" ;;
		not) _tap_result 1 "$name: ${rest#ok }" ;;
		esac
	done < "$PL_TMP/out"
	is "$rc" 0 "$name: exit status"
	[ -s "$PL_TMP/err" ] && sed 's/^/# stderr: /' "$PL_TMP/err"
	cp "$PL_TMP/out" "$PL_TMP/$name.out"
}

SEG=
run none -u LD_PRELOAD
run default LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY_DIR="$PL_TMP/empty"
is "$(cat "$PL_TMP/default.out")" "$(cat "$PL_TMP/none.out")" "default policy: same results as without the library"
if sanitized; then
	skip 2 "ASan's allocator comes first: the library's malloc interposers are bypassed"
else
	SEG=segregated
	run regions LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY="$POL_REGIONS"
	# the built-in default merges the heap too: its own crypto rules
	# (not a second copy of them) keep the crypto object's blocks apart
	run default_seg LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY_DIR="$PL_TMP/empty"
	# jemalloc after the library (redis-server links it): the calls reach
	# the library and go on to jemalloc, whose extents the built-in
	# default advises as mmap regions; the crypto object's blocks must
	# still be in the crypto heap
	JE=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
	if [ -f "$JE" ]; then
		run jemalloc_after LD_PRELOAD="$(ksmp_preload):$JE" KSMP_POLICY_DIR="$PL_TMP/empty"
	else
		skip_env 1 "libjemalloc2 not installed ($JE)"
	fi
	if [ -r /proc/self/ksm_stat ]; then
		run process LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY="$POL_PROCESS"
	else
		skip 1 "kernel without PR_SET_MEMORY_MERGE (no /proc/self/ksm_stat)"
	fi
	is "$(grep -v -e 'not exposed' -e 'no mg' -e 'stays in' -e 'moves it' "$PL_TMP/regions.out")" \
		"$(cat "$PL_TMP/none.out")" "regions: same results as without the library"
	fl=$(env LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY_DIR="$PL_TMP/empty" "$HC" "$HLIB" forkload 2>&1)
	is "$?/$fl" "0/ok forkload: a crypto object loaded after the fork: its block is not in [heap], no mg" \
		"default: a crypto object loaded in a forked child of a threaded process is kept apart"
	# ... also where the parent unloaded another object just before the
	# fork: the child cannot walk the loader, and the names it inherited
	# must not give the unloaded object's name to the crypto object
	PLIB="$KSMP_BUILDDIR/tests/heap/libksmpplain.so.ksmptest"
	fs=$(env LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY_DIR="$PL_TMP/empty" "$HC" "$HLIB" forkstale "$PLIB" 2>&1)
	rc=$?
	if echo "$fs" | grep -qx "premise same"; then
		is "$rc/$(echo "$fs" | grep forkstale)" "0/ok forkstale: a crypto object loaded after the fork where another was unloaded before it: its block is not in [heap], no mg" \
			"default: ... also where the parent unloaded another object just before the fork"
	else
		skip 1 "the crypto object did not land where the unloaded one was: $fs"
	fi
fi
plan "$tap_n"
done_testing
