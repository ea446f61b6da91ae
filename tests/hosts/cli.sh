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
plan 12

# from the build tree, without KSMP_POLICY_DIR: the source tree's policies
env -u KSMP_POLICY_DIR "$K" --dry-run -p default -- sh -c "touch '$T/ran'" > "$T/out" 2>&1; rc=$?
is "$rc" 0 "--dry-run: exit 0"
ok "--dry-run runs nothing" [ ! -e "$T/ran" ]
ok "--dry-run prints LD_PRELOAD with the library" grep -q "^LD_PRELOAD=.*/preload/libksmpreload.so$" "$T/out"
ok "build tree: -p default is the source tree's default.policy" \
	grep -q "^KSMP_POLICY=$(cd "$KSMP_SRCDIR/policy" && pwd -P)/default.policy$" "$T/out"
ok "--dry-run names the policy the library would use" grep -q '^policy .*default.policy (name default, mode auto)' "$T/out"
ok "--dry-run shows the command as found in PATH" grep -q "^command  /[^ ]* -c touch" "$T/out"
ok "--dry-run says whether ksmd runs" grep -Eq '^ksmd     (running|stopped|not available)' "$T/out"
# no -p: the library's own choice for the program (the source tree's
# directory names no program: the built-in default; a directory that
# names it: its file, also through argv[0] for a symbolic link)
env -u KSMP_POLICY_DIR "$K" -n -- sh -c true > "$T/out" 2>&1
ok "no -p: the built-in default" grep -q '^policy   built-in default (name default, mode auto)' "$T/out"
mkdir "$T/pd"
printf 'name shell\nprogram /usr/bin/dash /bin/dash sh\nmode regions\n' > "$T/pd/shell.policy"
KSMP_POLICY_DIR="$T/pd" "$K" -n -- sh -c true > "$T/out" 2>&1
ok "no -p: the policy the library would choose (shell.policy)" grep -q '^policy .*shell.policy (name shell, mode regions)' "$T/out"
printf 'mode fast\n' > "$T/broken.policy"
"$K" -n -p "$T/broken.policy" -- true > "$T/out" 2>&1; rc=$?
is "$rc" 1 "--dry-run with a broken policy: exit 1"
ok "... and its problem shown" grep -q "problem  $T/broken.policy:1: unknown mode 'fast'" "$T/out"
"$K" -n -- "$T/nonexistent" > "$T/out" 2>&1; rc=$?
is "$rc" 127 "--dry-run of a missing command: 127"
done_testing
