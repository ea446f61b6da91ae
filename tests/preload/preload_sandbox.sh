#!/bin/sh
# preload_sandbox.sh - the library reads no file once the program runs:
# tests/preload/ksmp-sandboxed enters a seccomp filter that kills it on
# open, openat, readlink and readlinkat before its own first allocation,
# then allocates from its own code (malloc, calloc, realloc, mmap). Under
# the built-in default (crypto heap on: each new calling object is named)
# and under a policy with caller= rules, it must run to its end. The
# filter is real: without the library, a readlink after it kills.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
B=$KSMP_BUILDDIR
SB="$B/tests/preload/ksmp-sandboxed"
[ -x "$SB" ] || skip_all "built without libseccomp"
# the sanitizer runtime reads /proc itself (at exit: the leak check)
sanitized && skip_all "under the sanitizer runtime, which reads /proc on its own"
plan 8
T=$(mktemp -d /tmp/ksmp-sandbox.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP

"$SB" selftest > /dev/null 2>&1
is "$?" 159 "the filter is real: without the library, readlink after it kills (SIGSYS)"
"$SB" > "$T/plain" 2>&1
is "$?:$(cat "$T/plain")" "0:ok" "without the library the program runs to its end"

mkdir "$T/none"
LD_PRELOAD=$(ksmp_preload) KSMP_POLICY_DIR="$T/none" "$SB" > "$T/def" 2>&1
is "$?:$(cat "$T/def")" "0:ok" "under the built-in default, run as a path: it lives, output unchanged"
( cd "$B/tests/preload" && LD_PRELOAD=$(ksmp_preload) KSMP_POLICY_DIR="$T/none" \
	./ksmp-sandboxed > "$T/rel" 2>&1; echo "$?" > "$T/rel.rc" )
is "$(cat "$T/rel.rc"):$(cat "$T/rel")" "0:ok" "run by a relative path: it lives"
printf 'mode regions\nmerge mmap min=1M caller=ksmp-sandboxed\nmerge heap caller=*\n' > "$T/caller.policy"
LD_PRELOAD=$(ksmp_preload) KSMP_POLICY="$T/caller.policy" "$SB" > "$T/cal" 2>&1
is "$?:$(cat "$T/cal")" "0:ok" "under a policy with caller= rules: it lives"

# loaded through syscall(SYS_seccomp) alone (no prctl: libseccomp told not
# to set no-new-privileges, as a program with CAP_SYS_ADMIN may), with
# memfd_create killed too: the block, made when first needed under the
# built-in default, must be made before the filter (it was made at the
# first advice, after it: SIGSYS)
if [ "$(id -u)" -eq 0 ]; then
	"$SB" rawtest > /dev/null 2>&1
	is "$?" 159 "raw: the filter is real: memfd_create after it kills (SIGSYS)"
	LD_PRELOAD=$(ksmp_preload) KSMP_POLICY_DIR="$T/none" "$SB" raw > "$T/raw" 2>&1
	is "$?:$(cat "$T/raw")" "0:ok" "raw, under the built-in default: it lives, output unchanged"
	LD_PRELOAD=$(ksmp_preload) KSMP_POLICY_DIR="$T/none" KSMP_LOG=debug "$SB" raw > "$T/rawlog" 2> "$T/rawlog.err"
	ok "raw: the library advised the program's memory (its log says so)" grep -qi "advis\|mergeable" "$T/rawlog.err"
else
	skip_env 3 "loading a filter without no-new-privileges needs root"
fi
