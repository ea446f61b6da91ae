#!/bin/sh
# Issue 12 items 1 and 8 for `ksmpreload profile`: with ksmd stopped it
# exits 1 at once (unless --force) instead of reporting every origin as
# worthless; {i} and {N+i} in the command give each instance its own
# number (ports); an instance that ends before the profile makes it exit 1.
# Runs under tests/ksm-hold (it stops ksmd for one check; ksm-hold puts
# run back).
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
need_root
need_ksm
ksm_fast "$@"
K=$KSMP_BUILDDIR/cli/ksmpreload
T=$(mktemp -d /tmp/ksmp-hosts-prof.XXXXXX)
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=0"; export ASAN_OPTIONS
sanitized && { LD_PRELOAD=$KSMP_ASAN_RUNTIME; export LD_PRELOAD; }
plan 8

"$K" ksm off > /dev/null
start=$(date +%s)
"$K" profile -o "$T/p.policy" -- sleep 30 > "$T/out" 2>&1; rc=$?
is "$rc" 1 "ksmd stopped: profile exits 1"
ok "... at once, saying why and how to start it" sh -c \
	"[ \$((\$(date +%s) - $start)) -lt 10 ] && grep -q 'ksmd is not running.*ksmpreload ksm on.*--force' '$T/out'"
ok "... and writes no policy" [ ! -e "$T/p.policy" ]
"$K" profile --force --settle 1 -o "$T/p.policy" -- sleep 30 > "$T/out" 2>&1; rc=$?
ok "--force: profiles anyway, with the warning (rc $rc)" grep -q 'warning: profile --force: ksmd is not running' "$T/out"
"$K" ksm on > /dev/null

"$K" profile -n 3 --settle 1 -o "$T/p.policy" -- \
	sh -c "echo inst {i} port {7000+i} >> '$T/args'; exec sleep 30" > "$T/out" 2>&1; rc=$?
is "$rc" 0 "three instances with placeholders: exit 0"
is "$(sort "$T/args" | tr '\n' ' ')" "inst 0 port 7000 inst 1 port 7001 inst 2 port 7002 " \
	"{i} and {7000+i} give each instance its number and port"
"$K" profile -n 2 --settle 2 -o "$T/p2.policy" -- \
	sh -c "[ {i} = 1 ] && exit 3; exec sleep 30" > "$T/out" 2>&1; rc=$?
is "$rc" 1 "one of two instances exits early: exit 1"
ok "... and it is named with its status" grep -q 'instance 1 (pid [0-9]*) ended before the profile did: exit status 3' "$T/out"
done_testing
