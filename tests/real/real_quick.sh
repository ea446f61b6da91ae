#!/bin/sh
# real_quick - the short subset of the real suites (tests/real/real_lib.sh) for
# make check (< 2 min): a few of Python's regression tests, stress-ng
# --verify for the memory stressors (1 s each) and a sqlite3 workload, each
# without the library, with it (policy "merge any"), and with it while
# mergefs toggles merge/unmerge every ~300 ms; same results every time.
# make check-real runs the long version, tests/real/real_full.sh.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/real/real_lib.sh"
real_main() {
	py_mods=$1; stress_secs=$2; sql_rows=$3
	real_setup
	modes="base lib"
	[ "$HAVE_MERGEFS" = 1 ] && modes="base lib toggle"
	n_modes=$(echo $modes | wc -w)
	plan $((1 + 3 * 2 * (n_modes - 1) + (n_modes - 1) / 2 * 3))
	[ "$HAVE_MERGEFS" = 1 ] || diag "no mergefs mount (needs root and /dev/fuse): toggle runs skipped"
	# the library is in effect: a process under it has mergeable memory
	mg=$(with lib sh -c 'grep -c " mg" /proc/self/smaps' 2>/dev/null)
	ok "a program under the policy has mergeable mappings (${mg:-0})" test "${mg:-0}" -gt 0

	if have_pytests; then
		for m in $modes; do real_python py "$m" $py_mods; [ "$m" = toggle ] && py_t=$(toggles_ok); done
		for m in $modes; do [ "$m" = base ] || real_judge py "$m" "python $py_mods"; done
	else
		skip_env $((2 * (n_modes - 1))) "Python's regression tests not installed (Debian: libpython3.11-testsuite)"
	fi
	if command -v stress-ng >/dev/null 2>&1; then
		for m in $modes; do real_stress st "$m" "$stress_secs" mmap mremap brk malloc fork pthread madvise; [ "$m" = toggle ] && st_t=$(toggles_ok); done
		for m in $modes; do [ "$m" = base ] || real_judge st "$m" "stress-ng --verify"; done
	else
		skip_env $((2 * (n_modes - 1))) "stress-ng not installed"
	fi
	if command -v sqlite3 >/dev/null 2>&1; then
		for m in $modes; do real_sqlite sq "$m" "$sql_rows"; [ "$m" = toggle ] && sq_t=$(toggles_ok); done
		for m in $modes; do [ "$m" = base ] || real_judge sq "$m" "sqlite3 workload"; done
	else
		skip_env $((2 * (n_modes - 1))) "sqlite3 not installed"
	fi
	if [ "$HAVE_MERGEFS" = 1 ]; then
		have_pytests && { ok "toggles reached the Python runs (${py_t:-0})" test "${py_t:-0}" -gt 0; } || skip_env 1 "no Python tests"
		command -v stress-ng >/dev/null 2>&1 && { ok "toggles reached the stress-ng runs (${st_t:-0})" test "${st_t:-0}" -gt 0; } || skip_env 1 "no stress-ng"
		command -v sqlite3 >/dev/null 2>&1 && { ok "toggles reached the sqlite3 run (${sq_t:-0})" test "${sq_t:-0}" -gt 0; } || skip_env 1 "no sqlite3"
	fi
	done_testing
}
[ "${KSMP_REAL_SOURCED:-0}" = 1 ] || real_main "test_mmap test_fork1 test_gc" 1 300000
