#!/bin/sh
# real_numpy - a second packaged test suite for make check-real: numpy's
# own tests (Debian python3-numpy, run with pytest and hypothesis) for the
# core array object, the ufuncs and lib's function_base: a few thousand
# cases that allocate, copy, view and free arrays of every size. Run
# without the library, with it (policy "merge any"), and with it while
# mergefs toggles merge/unmerge every ~300 ms; the results must be the
# same, test case by test case. See tests/real/real_lib.sh.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/real/real_lib.sh"
real_setup
"$PY" -c 'import numpy, pytest, hypothesis' 2>/dev/null ||
	skip_all_env "numpy's tests need python3-numpy, python3-pytest and python3-hypothesis"
modes="base lib"
[ "$HAVE_MERGEFS" = 1 ] && modes="base lib toggle"
n_modes=$(echo $modes | wc -w)
plan $((2 * (n_modes - 1) + (n_modes - 1) / 2))
suites="numpy.core.tests.test_multiarray numpy.core.tests.test_umath numpy.lib.tests.test_function_base"
for m in $modes; do
	real_pytest np "$m" $suites
	[ "$m" = toggle ] && np_t=$(toggles_ok)
done
for m in $modes; do [ "$m" = base ] || real_judge np "$m" "numpy's tests"; done
if [ "$HAVE_MERGEFS" = 1 ]; then
	ok "toggles reached the numpy run (${np_t:-0})" test "${np_t:-0}" -gt 0
fi
done_testing
