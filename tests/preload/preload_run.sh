#!/bin/sh
# preload_run.sh - the `ksmpreload [-p POLICY|NAME] [--] COMMAND...` form:
# LD_PRELOAD gets the library's absolute path appended (once), -p picks a
# file or a policy of the policy directories by name, warnings for static and setuid
# targets, shell-like exit codes.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
pl_need_lib
pl_tmp
K="$KSMP_BUILDDIR/cli/ksmpreload"
[ -x "$K" ] || skip_all "ksmpreload not built"
plan 17
# In the sanitizer build the ASan runtime must come first in LD_PRELOAD.
BASE=${KSMP_ASAN_RUNTIME:-}
M="$PROGS/ksmp-misc"

out=$(LD_PRELOAD="$BASE" "$K" -- "$M" preload 2>&1)
lp=$(echo "$out" | sed -n 's/^LD_PRELOAD=//p')
case $lp in /*/libksmpreload.so|*[:\ ]/*/libksmpreload.so) r=0;; *) r=1; diag "$out";; esac
ok "LD_PRELOAD ends with the library's absolute path" [ $r -eq 0 ]
case $out in *"mapped 1"*) r=0;; *) r=1;; esac
ok "the library is mapped in the command" [ $r -eq 0 ]

X="$PROGS/libksmpcaller.so"
out=$(LD_PRELOAD="${BASE:+$BASE:}$X" "$K" "$M" preload 2>&1)
lp=$(echo "$out" | sed -n 's/^LD_PRELOAD=//p')
case $lp in "${BASE:+$BASE:}$X"[:\ ]/*/libksmpreload.so) r=0;; *) r=1; diag "$out";; esac
ok "an existing LD_PRELOAD is kept and the library appended" [ $r -eq 0 ]

lib=${lp##*[: ]}
out=$(LD_PRELOAD="${BASE:+$BASE:}$lib" "$K" -- "$M" preload 2>&1)
n=$(echo "$out" | sed -n 's/^LD_PRELOAD=//p' | tr ': ' '\n\n' | grep -c 'libksmpreload.so$')
is "$n" 1 "the library is not added twice"

out=$(LD_PRELOAD="$BASE" "$K" -p default -- /usr/bin/env 2>&1)
pol=$(echo "$out" | sed -n 's/^KSMP_POLICY=//p')
case $pol in /*/default.policy) r=0;; *) r=1; diag "KSMP_POLICY='$pol'";; esac
ok "-p default sets KSMP_POLICY to the shipped default.policy" [ $r -eq 0 ]
ok "-p default: that file exists" [ -f "$pol" ]
f=$(pl_policy mine 'mode process')
out=$(LD_PRELOAD="$BASE" "$K" -p "$f" -- /usr/bin/env 2>&1)
is "$(echo "$out" | sed -n 's/^KSMP_POLICY=//p')" "$f" "-p FILE sets KSMP_POLICY to that file"
out=$(LD_PRELOAD="$BASE" "$K" -p "$f" -- "$M" state 2>/dev/null)
case $out in "engine 1 "*"policy mine"*) r=0;; *) r=1; diag "$out";; esac
ok "-p FILE: the command runs under that policy" [ $r -eq 0 ]

LD_PRELOAD="$BASE" "$K" -- /bin/sh -c 'exit 3' 2>/dev/null
is "$?" 3 "the command's exit status is passed through"
LD_PRELOAD="$BASE" "$K" -- "$PL_TMP/nonexistent" 2> "$PL_TMP/err"
is "$?" 127 "a missing command exits 127"
ok "a missing command is reported" [ -s "$PL_TMP/err" ]
printf '#!/bin/sh\n' > "$PL_TMP/noexec"; chmod 644 "$PL_TMP/noexec"
LD_PRELOAD="$BASE" "$K" -- "$PL_TMP/noexec" 2>/dev/null
is "$?" 126 "a non-executable command exits 126"

# static target: warned about, still run
if [ -x /sbin/ldconfig ] && command -v readelf > /dev/null && ! readelf -l /sbin/ldconfig 2>/dev/null | grep -q INTERP; then
	LD_PRELOAD="$BASE" "$K" -- /sbin/ldconfig --version > /dev/null 2> "$PL_TMP/err"
	is "$?" 0 "a static command still runs"
	ok "a static command is warned about" grep -qi static "$PL_TMP/err"
else
	skip_env 2 "no static binary (/sbin/ldconfig) to try"
fi
# setuid target (owned by someone else, so that the loader runs it in secure
# mode even for root): warned about, still run
cp /bin/true "$PL_TMP/sutrue"; chown 65534 "$PL_TMP/sutrue" 2>/dev/null; chmod 4755 "$PL_TMP/sutrue"
LD_PRELOAD="$BASE" "$K" -- "$PL_TMP/sutrue" 2> "$PL_TMP/err"
is "$?" 0 "a setuid command still runs"
ok "a setuid command is warned about" grep -qi 'setuid\|set-user\|setgid\|set-group' "$PL_TMP/err"
# no warning for an ordinary dynamic program
LD_PRELOAD="$BASE" "$K" -- /bin/true 2> "$PL_TMP/err"
# (but for the warning that ksmd is stopped, which tests/hosts/ksmd.sh checks)
is "$(grep -v 'ksmd is not running' "$PL_TMP/err")" "" "no output for an ordinary program"
done_testing
