#!/bin/sh
# env_garbage - garbage, huge or missing KSMP_* variables never crash or
# hang a program under the library: each case runs a small program that
# forks and execs (sh -c with a pipe) and must print its output and exit 0
# within a time limit (KSMP_POLICY naming a FIFO: tests/preload/env_fifo.sh).
# KSMP_STRICT=1 with an unusable policy is the one
# documented exception (exit 127), checked separately.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
[ -f "$(ksmp_lib)" ] || skip_all "libksmpreload.so not built"
command -v timeout >/dev/null 2>&1 || skip_all_env "timeout (coreutils) not installed"
LIB=$(ksmp_preload)
OUT=$(mktemp -d /tmp/ksmp-env.XXXXXX)
cleanup() { rm -rf "$OUT"; }
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

HUGE=$(head -c 100000 /dev/zero | tr '\0' 'A')
BIN=$(printf '\001\002\377\376%%s%%n%%x\033[2J')
ln -s "$OUT/loop" "$OUT/loop"
printf 'name ok\nmode regions\nmerge any\n' > "$OUT/good.policy"
head -c 70000 /dev/urandom > "$OUT/random.policy"
printf 'mode regions\nmerge any min=%s\n' "$HUGE" > "$OUT/longline.policy"
printf 'mode regions\n\000merge any\n' > "$OUT/nul.policy"

# run NAME VAR=VALUE...: one case
run() {
	name=$1; shift
	out=$(env -u KSMP_POLICY -u KSMP_POLICY_DIR -u KSMP_LOG -u KSMP_STRICT \
		timeout 20 env "$@" LD_PRELOAD="$LIB" sh -c 'echo x | cat; exit 0' 2>"$OUT/err")
	rc=$?
	if [ "$rc" -eq 0 ] && [ "$out" = x ]; then _tap_result 0 "$name"; else
		diag "exit $rc, output '$out'"; sed -n '1,3s/^/# /p' "$OUT/err"
		_tap_result 1 "$name"; fi
}

plan 34
run "no KSMP_* at all"
run "KSMP_POLICY empty" KSMP_POLICY=
run "KSMP_POLICY missing file" KSMP_POLICY=/nonexistent/x.policy
run "KSMP_POLICY relative" KSMP_POLICY=x.policy
run "KSMP_POLICY a directory" KSMP_POLICY=/
run "KSMP_POLICY /dev/zero (endless)" KSMP_POLICY=/dev/zero
run "KSMP_POLICY /dev/null" KSMP_POLICY=/dev/null
run "KSMP_POLICY a symlink loop" KSMP_POLICY="$OUT/loop"
run "KSMP_POLICY 100 kB of random bytes" KSMP_POLICY="$OUT/random.policy"
run "KSMP_POLICY a 100 kB line" KSMP_POLICY="$OUT/longline.policy"
run "KSMP_POLICY with a NUL byte" KSMP_POLICY="$OUT/nul.policy"
run "KSMP_POLICY 100 kB name" KSMP_POLICY="$HUGE"
run "KSMP_POLICY binary name" KSMP_POLICY="$BIN"
run "KSMP_POLICY_DIR empty" KSMP_POLICY_DIR=
run "KSMP_POLICY_DIR missing" KSMP_POLICY_DIR=/nonexistent
run "KSMP_POLICY_DIR a file" KSMP_POLICY_DIR=/etc/passwd
run "KSMP_POLICY_DIR /proc (many entries)" KSMP_POLICY_DIR=/proc
run "KSMP_POLICY_DIR /dev" KSMP_POLICY_DIR=/dev
run "KSMP_POLICY_DIR 100 kB" KSMP_POLICY_DIR="$HUGE"
run "KSMP_POLICY_DIR binary" KSMP_POLICY_DIR="$BIN"
run "KSMP_LOG empty" KSMP_LOG=
run "KSMP_LOG garbage" KSMP_LOG=verbose
run "KSMP_LOG huge number" KSMP_LOG=99999999999999999999
run "KSMP_LOG negative" KSMP_LOG=-1
run "KSMP_LOG 100 kB" KSMP_LOG="$HUGE"
run "KSMP_LOG binary" KSMP_LOG="$BIN"
run "KSMP_LOG=debug with a good policy" KSMP_LOG=debug KSMP_POLICY="$OUT/good.policy"
run "KSMP_STRICT garbage, bad policy" KSMP_STRICT=yes KSMP_POLICY=/nonexistent
run "KSMP_STRICT 100 kB, bad policy" KSMP_STRICT="$HUGE" KSMP_POLICY="$OUT/random.policy"
run "KSMP_STRICT=1, good policy" KSMP_STRICT=1 KSMP_POLICY="$OUT/good.policy"
run "everything garbage at once" KSMP_POLICY="$BIN" KSMP_POLICY_DIR="$HUGE" KSMP_LOG="$BIN" KSMP_STRICT="$BIN"
# stderr closed: the one-line report must not hurt the program
out=$(timeout 20 env LD_PRELOAD="$LIB" KSMP_POLICY=/nonexistent sh -c 'echo x | cat' 2>&-)
is "$out" x "a policy error with stderr closed"
timeout 20 env LD_PRELOAD="$LIB" KSMP_STRICT=1 KSMP_POLICY=/nonexistent true 2>/dev/null
is "$?" 127 "KSMP_STRICT=1 with a missing policy exits 127, as documented"
# the report is one line, whatever the garbage
n=$(timeout 20 env LD_PRELOAD="$LIB" KSMP_POLICY="$OUT/random.policy" true 2>&1 | wc -l)
is "$n" 1 "a policy of random bytes is reported in one line"
done_testing
