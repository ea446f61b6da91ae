#!/bin/sh
# real_quick - the short subset of the real suites (tests/real/real_lib.sh) for
# make check (< 2 min): a few of Python's regression tests, stress-ng
# --verify for the memory stressors (1 s each) and a sqlite3 workload, each
# without the library, with it (policy "merge any"), with it while mergefs
# toggles merge/unmerge every ~300 ms, and without it while ksmpreload
# attach/detach run on each of its processes over and over; same results
# every time.
# make check-real runs the long version, tests/real/real_full.sh.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/real/real_lib.sh"
real_main() {
	py_mods=$1; stress_secs=$2; sql_rows=$3
	real_setup
	modes="base lib"
	[ "$HAVE_MERGEFS" = 1 ] && modes="$modes toggle"
	attach_ok && modes="$modes attach"
	n_modes=$(echo $modes | wc -w)
	n_bg=$(( (n_modes - 2) * 3 ))	# a "reached" check per suite for toggle and attach
	plan $((1 + 3 * 2 * (n_modes - 1) + n_bg))
	[ "$HAVE_MERGEFS" = 1 ] || diag "no mergefs mount (needs root and /dev/fuse): toggle runs skipped"
	attach_ok || diag "no ptrace rights over this uid's processes: attach runs skipped"
	# the library is in effect: a process under it has mergeable memory
	mg=$(with lib sh -c 'grep -c " mg" /proc/self/smaps' 2>/dev/null)
	ok "a program under the policy has mergeable mappings (${mg:-0})" test "${mg:-0}" -gt 0

	if have_pytests; then
		for m in $modes; do real_python py "$m" $py_mods; eval "py_$m=\$(toggles_ok)"; done
		for m in $modes; do [ "$m" = base ] || real_judge py "$m" "python $py_mods"; done
	else
		skip_env $((2 * (n_modes - 1))) "Python's regression tests not installed (Debian: libpython3.11-testsuite)"
	fi
	if command -v stress-ng >/dev/null 2>&1; then
		for m in $modes; do real_stress st "$m" "$stress_secs" mmap mremap brk malloc fork pthread madvise; eval "st_$m=\$(toggles_ok)"; done
		for m in $modes; do [ "$m" = base ] || real_judge st "$m" "stress-ng --verify"; done
	else
		skip_env $((2 * (n_modes - 1))) "stress-ng not installed"
	fi
	if command -v sqlite3 >/dev/null 2>&1; then
		for m in $modes; do real_sqlite sq "$m" "$sql_rows"; eval "sq_$m=\$(toggles_ok)"; done
		for m in $modes; do [ "$m" = base ] || real_judge sq "$m" "sqlite3 workload"; done
	else
		skip_env $((2 * (n_modes - 1))) "sqlite3 not installed"
	fi
	for m in $modes; do
		case $m in toggle) what=toggles ;; attach) what=attaches ;; *) continue ;; esac
		eval "py_t=\${py_$m:-0} st_t=\${st_$m:-0} sq_t=\${sq_$m:-0}"
		if have_pytests; then ok "$what reached the Python runs ($py_t)" test "$py_t" -gt 0
		else skip_env 1 "no Python tests"; fi
		if command -v stress-ng >/dev/null 2>&1; then ok "$what reached the stress-ng runs ($st_t)" test "$st_t" -gt 0
		else skip_env 1 "no stress-ng"; fi
		if command -v sqlite3 >/dev/null 2>&1; then ok "$what reached the sqlite3 run ($sq_t)" test "$sq_t" -gt 0
		else skip_env 1 "no sqlite3"; fi
	done
	[ -s "$RO/attach.err" ] && diag "attach refusals: $(sed 's/.*: //' "$RO/attach.err" | sort | uniq -c | sort -rn | head -5 | tr '\n' ';')"
	done_testing
}
[ "${KSMP_REAL_SOURCED:-0}" = 1 ] || real_main "test_mmap test_fork1 test_gc" 1 300000
