#!/usr/bin/env bash
# check.sh - from a fresh checkout to a tested tree: installs dependencies,
# builds with -Werror, runs `make check` in the normal build and again in
# the ASan+UBSan build, replays the fuzz target briefly, and ends with one
# line "N passed, N failed, N skipped" counting every TAP result.
#
#   sudo ./check.sh              # KSMP_TEST_REQUIRE=1 unless set otherwise
set -uo pipefail
top=$(cd "$(dirname "$0")" && pwd)
cd "$top" || exit 2
export KSMP_TEST_REQUIRE=${KSMP_TEST_REQUIRE:-1}
jobs=${KSMP_JOBS:-2}

step_failures=0
step() { # step NAME CMD...: run, report, count a failure
	local name=$1; shift
	echo "== $name"
	if "$@"; then return 0; fi
	echo "!! $name failed"
	step_failures=$((step_failures + 1))
	return 1
}

build() { # build DIR CONFIGURE-ARGS...
	local dir=$1; shift
	mkdir -p "$dir" &&
	(cd "$dir" && "$top/configure" --enable-werror "$@" >configure.out &&
		make -j"$jobs" >make.out 2>&1) ||
		{ tail -40 "$dir/make.out" "$dir/configure.out" 2>/dev/null; return 1; }
}

run_check() { # run_check DIR: failing tests are counted from their .trs
	echo "== make check in $1"
	(cd "$1" && make -j"$jobs" check >check.out 2>&1)
	local rc=$?
	grep -E '^(FAIL|ERROR|XPASS|SKIP):' "$1/check.out" | head -60
	grep -E '^# (TOTAL|PASS|SKIP|FAIL|ERROR)' "$1/check.out"
	[ $rc -eq 0 ] && return 0
	[ -f "$1/test-suite.log" ] && sed -n '1,300p' "$1/test-suite.log"
	# make failed but no test result says so (e.g. a test program did not
	# build): count that as a failure of its own.
	find "$1" -name '*.trs' -exec grep -lE '^:test-result: (FAIL|ERROR|XPASS)' {} + | grep -q . ||
		{ tail -30 "$1/check.out"; step_failures=$((step_failures + 1)); }
}

step "dependencies" sh tests/install-deps.sh
step "autogen" sh -c './autogen.sh >/dev/null 2>&1 || ./autogen.sh'
# After an in-tree ./configure, configure refuses out-of-tree builds
# ("source directory already configured"): clean the in-tree one first.
if [ -f config.status ]; then
	step "make distclean (the tree was configured in-tree)" \
		sh -c 'make distclean >/dev/null 2>&1 || rm -f config.status config.h Makefile'
fi
if step "build (-Werror)" build _build; then
	run_check _build
	if grep -q '^fuzz:' _build/Makefile 2>/dev/null; then
		step "fuzz (brief)" sh -c "cd _build && make fuzz FUZZ_SECONDS=${KSMP_FUZZ_SECONDS:-20} >fuzz.out 2>&1; rc=\$?; tail -5 fuzz.out; exit \$rc"
	fi
fi
if [ "${KSMP_SKIP_SANITIZERS:-0}" != 1 ]; then
	if step "build (ASan+UBSan)" build _build-san --enable-sanitizers; then
		run_check _build-san
	fi
fi
if [ "${KSMP_DISTCHECK:-0}" = 1 ]; then
	step "distcheck" sh -c "cd _build && make distcheck >distcheck.out 2>&1 || { tail -60 distcheck.out; exit 1; }"
fi

# Count every TAP result of every run.
passed=0 failed=0 skipped=0
while IFS= read -r trs; do
	while read -r _ res; do
		case $res in
		PASS|XFAIL) passed=$((passed + 1)) ;;
		SKIP) skipped=$((skipped + 1)) ;;
		*) failed=$((failed + 1)) ;;
		esac
	done < <(grep '^:test-result:' "$trs")
done < <(find _build _build-san -name '*.trs' -not -path '*/ksmpreload-*/*' 2>/dev/null)
failed=$((failed + step_failures))
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
