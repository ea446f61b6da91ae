# tap.sh - TAP helpers for ksmpreload's shell tests (sourced).
#
#   plan N | ok COND-STATUS MSG | is GOT WANT MSG | skip N WHY
#   skip_env N WHY        skip, or fail when KSMP_TEST_REQUIRE=1
#   skip_all WHY / skip_all_env WHY
#   need_root / need_ksm / need_fuse      probe, skip_all_env when absent
#   ksmp_preload          LD_PRELOAD value for the library under test
#                         (ASan runtime first in sanitizer builds)
#   done_testing          exit status from the results
set -u
: "${KSMP_BUILDDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${KSMP_SRCDIR:=$KSMP_BUILDDIR}"
: "${KSMP_ASAN_RUNTIME:=}"
tap_n=0
tap_failed=0

plan() { echo "1..$1"; }
_tap_result() {
	# _tap_result STATUS MSG
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $tap_n - $2"; else
		echo "not ok $tap_n - $2"; tap_failed=$((tap_failed + 1)); fi
}
ok() { # ok MSG CMD...: runs CMD, passes when it exits 0
	msg=$1; shift
	if "$@"; then _tap_result 0 "$msg"; else _tap_result 1 "$msg"; fi
}
is() { # is GOT WANT MSG
	if [ "$1" = "$2" ]; then _tap_result 0 "$3"; else
		echo "# got '$1', want '$2'"; _tap_result 1 "$3"; fi
}
diag() { echo "# $*"; }
skip() { i=0; while [ $i -lt "$1" ]; do tap_n=$((tap_n + 1)); echo "ok $tap_n # SKIP $2"; i=$((i + 1)); done; }
tap_require() { [ "${KSMP_TEST_REQUIRE:-0}" = 1 ]; }
skip_env() {
	if tap_require; then i=0; while [ $i -lt "$1" ]; do
		_tap_result 1 "required but missing: $2"; i=$((i + 1)); done
	else skip "$1" "$2"; fi
}
skip_all() { echo "1..0 # SKIP $1"; exit 0; }
skip_all_env() {
	if tap_require; then echo "1..1"; echo "not ok 1 - required but missing: $1"; exit 1; fi
	skip_all "$1"
}
done_testing() { [ "$tap_failed" -eq 0 ]; exit $?; }

need_root() { [ "$(id -u)" -eq 0 ] || skip_all_env "needs root"; }
need_ksm() {
	[ -w /sys/kernel/mm/ksm/run ] || skip_all_env "KSM not available (/sys/kernel/mm/ksm/run not writable)"
}
need_fuse() {
	[ -c /dev/fuse ] && [ -r /dev/fuse ] || skip_all_env "/dev/fuse not available"
	command -v fusermount3 >/dev/null 2>&1 || skip_all_env "fusermount3 not installed"
}
ksmp_lib() { echo "$KSMP_BUILDDIR/preload/libksmpreload.so"; }
ksmp_preload() {
	if [ -n "$KSMP_ASAN_RUNTIME" ]; then echo "$KSMP_ASAN_RUNTIME:$(ksmp_lib)"; else ksmp_lib; fi
}
sanitized() { [ -n "$KSMP_ASAN_RUNTIME" ]; }

# Re-exec this test under tests/ksm-hold, which sets ksmd fast, serialises
# KSM tests and restores the knobs it found, even if the test is killed.
ksm_fast() {
	if [ -z "${KSMP_KSM_HELD:-}" ]; then
		exec "$KSMP_BUILDDIR/tests/ksm-hold" -- "$SHELL_FOR_TEST" "$0" "$@"
	fi
}
SHELL_FOR_TEST=${SHELL_FOR_TEST:-/bin/sh}
