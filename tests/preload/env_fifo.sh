#!/bin/sh
# env_fifo - regression test (bugs-lib.md, "KSMP_POLICY naming a FIFO hangs
# every program"; fixed in policy/select.c): the constructor opened
# KSMP_POLICY with a blocking open(2), so a FIFO stopped the program before
# main() for ever. Expected: the policy is refused and the program runs
# unmerged.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
[ -f "$(ksmp_lib)" ] || skip_all "libksmpreload.so not built"
command -v timeout >/dev/null 2>&1 || skip_all_env "timeout (coreutils) not installed"
OUT=$(mktemp -d /tmp/ksmp-envfifo.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
mkfifo "$OUT/fifo"
plan 1
# timeout runs outside the library; -s KILL so a hung constructor dies too
out=$(timeout -s KILL 5 env LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY="$OUT/fifo" \
	sh -c 'echo x' 2>/dev/null)
is "$out" x "KSMP_POLICY naming a FIFO nobody writes does not hang the program"
done_testing
