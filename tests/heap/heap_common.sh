# heap_common.sh - shared by tests/heap/*.sh (sourced after tap.sh and
# tests/preload_common.sh; not a test itself).
HC="$KSMP_BUILDDIR/tests/heap/heap-check"
HLIB="$KSMP_BUILDDIR/tests/heap/libcrypto.so.ksmptest"
[ -x "$HC" ] && [ -f "$HLIB" ] || skip_all "tests/heap programs not built"
# The tests ask for impossible sizes and alignments: answered with NULL /
# ENOMEM / EINVAL, as glibc does, not with an ASan report (sanitizer build).
ASAN_OPTIONS="$ASAN_OPTIONS:allocator_may_return_null=1"

# heap_setup: scratch dir, $POL_REGIONS: a policy that merges the heap
# and arenas and has no caller= rule (the built-in crypto list must still
# keep the crypto object's blocks apart), $POL_PROCESS: whole-process
# merging, $PL_TMP/empty: an empty policy directory (the built-in default).
heap_setup() {
	pl_need_lib
	pl_tmp
	POL_REGIONS=$(pl_policy regions 'mode regions
merge heap,arena,chunk')
	POL_PROCESS=$(pl_policy process 'mode process')
	mkdir "$PL_TMP/empty"
}
