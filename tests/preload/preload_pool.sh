#!/bin/sh
# preload_pool.sh - the bootstrap pool (preload/symbols.c): what is
# allocated while the library looks up the real functions with dlsym is
# served from a static pool, and free, realloc, calloc and
# malloc_usable_size must recognise those blocks (free finds them, and the
# crypto heap's, by one bounding box first: preload/heap.c). Nothing of
# the pool may reach the real free, which would abort. The dlsym of
# tests/progs/libksmpdlwrap.so, preloaded before the library, allocates
# on every call; the program then runs ordinary allocations (threads:
# arenas) and, under the built-in default, crypto heap blocks
# (tests/heap's crypto-named object), which join the pool in the box.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
pl_need_lib
W="$PROGS/libksmpdlwrap.so"
HC="$KSMP_BUILDDIR/tests/heap/heap-check"
HLIB="$KSMP_BUILDDIR/tests/heap/libcrypto.so.ksmptest"
MB="$KSMP_BUILDDIR/bench/ksmp-mbench"
[ -f "$W" ] && [ -x "$HC" ] && [ -f "$HLIB" ] && [ -x "$MB" ] ||
	skip_all "test programs not built"
[ "$(uname -m)" = x86_64 ] || skip_all "libksmpdlwrap.so jumps to dlsym in x86-64 assembly"
sanitized && skip_all "ASan's allocator comes first: the library's malloc is not reached"
pl_tmp
mkdir "$PL_TMP/empty"
off=$(pl_policy off 'mode regions
merge mmap min=1M')

plan 9

# run NAME POLICY-ENV CMD...: exit 0, the blocks of every dlsym call the
# library made in its pool, no check failed
run() {
	name=$1; penv=$2; shift 2
	env LD_PRELOAD="$W:$(ksmp_lib)" "$penv" "$@" > "$PL_TMP/out" 2> "$PL_TMP/err"
	rc=$?
	is "$rc" 0 "$name: exit status"
	line=$(grep '^dlwrap ' "$PL_TMP/err")
	set -- $line
	if [ "$#" -eq 7 ] && [ "$3" -ge 10 ] && [ "$5" -eq "$3" ] && [ "$7" -eq 0 ]; then
		_tap_result 0 "$name: the library's $3 lookups allocated from its pool, all checks held"
	else
		diag "got '$line'; stderr:"; sed 's/^/# /' "$PL_TMP/err"
		_tap_result 1 "$name: the library's lookups allocated from its pool, all checks held"
	fi
}

run "default, threads" KSMP_POLICY_DIR="$PL_TMP/empty" "$MB" malloc 2 20000
run "default, crypto heap" KSMP_POLICY_DIR="$PL_TMP/empty" "$HC" "$HLIB" api segregated
grep '^not ok' "$PL_TMP/out" | sed 's/^/# /'
ok "default, crypto heap: heap-check's checks pass" \
	sh -c "grep -q '^ok' '$PL_TMP/out' && ! grep -q '^not ok' '$PL_TMP/out'"
run "no heap rules, threads" KSMP_POLICY="$off" "$MB" malloc 2 20000
run "no heap rules, crypto object" KSMP_POLICY="$off" "$HC" "$HLIB" api
