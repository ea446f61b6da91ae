#!/bin/sh
# Issue 12 items 5 and 8, the command's side: --dry-run of the run form,
# and the build tree's ksmpreload finding the source tree's policies.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
K=$KSMP_BUILDDIR/cli/ksmpreload
[ -x "$K" ] || skip_all "ksmpreload not built"
T=$(mktemp -d /tmp/ksmp-hosts-cli.XXXXXX)
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=0"; export ASAN_OPTIONS
unset KSMP_POLICY KSMP_LIBRARY
plan 11

# from the build tree, without KSMP_POLICY_DIR: the source tree's policies
env -u KSMP_POLICY_DIR "$K" --dry-run -p python -- sh -c "touch '$T/ran'" > "$T/out" 2>&1; rc=$?
is "$rc" 0 "--dry-run: exit 0"
ok "--dry-run runs nothing" [ ! -e "$T/ran" ]
ok "--dry-run prints LD_PRELOAD with the library" grep -q "^LD_PRELOAD=.*/preload/libksmpreload.so$" "$T/out"
ok "build tree: -p python is the source tree's python.policy" \
	grep -q "^KSMP_POLICY=$(cd "$KSMP_SRCDIR/policy" && pwd -P)/python.policy$" "$T/out"
ok "--dry-run names the policy the library would use" grep -q '^policy .*python.policy (name python, mode auto)' "$T/out"
ok "--dry-run shows the command as found in PATH" grep -q "^command  /[^ ]* -c touch" "$T/out"
ok "--dry-run says whether ksmd runs" grep -Eq '^ksmd     (running|stopped|not available)' "$T/out"
# no -p: the library's own choice for the program
env -u KSMP_POLICY_DIR "$K" -n -- redis-server --version > "$T/out" 2>&1
if command -v redis-server >/dev/null 2>&1; then
	ok "no -p: the policy the library would choose (redis)" grep -q '^policy .*redis.policy (name redis' "$T/out"
else
	skip 1 "redis-server not installed"
fi
printf 'mode fast\n' > "$T/broken.policy"
"$K" -n -p "$T/broken.policy" -- true > "$T/out" 2>&1; rc=$?
is "$rc" 1 "--dry-run with a broken policy: exit 1"
ok "... and its problem shown" grep -q "problem  $T/broken.policy:1: unknown mode 'fast'" "$T/out"
"$K" -n -- "$T/nonexistent" > "$T/out" 2>&1; rc=$?
is "$rc" 127 "--dry-run of a missing command: 127"
done_testing
