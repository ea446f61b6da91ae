#!/bin/sh
# Issue 12 item 1: ksmd stopped is said, and `ksmpreload ksm` shows and
# sets its knobs with validation. Runs under tests/ksm-hold, which
# serialises KSM tests and puts run, pages_to_scan, sleep_millisecs and
# smart_scan back exactly as it found them: this test writes no other
# knob (bad values are refused before anything is written).
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
need_root
need_ksm
ksm_fast "$@"
K=$KSMP_BUILDDIR/cli/ksmpreload
M=$KSMP_BUILDDIR/mergefs/mergefs
S=/sys/kernel/mm/ksm
T=$(mktemp -d /tmp/ksmp-hosts-ksmd.XXXXXX)
cleanup() {
	[ -n "${MNT:-}" ] && fusermount3 -u "$MNT" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=0"; export ASAN_OPTIONS
# sanitizer build: the ASan runtime must come first; ksmpreload appends
sanitized && { LD_PRELOAD=$KSMP_ASAN_RUNTIME; export LD_PRELOAD; }

plan 29
"$K" ksm > "$T/show" 2> "$T/err"; rc=$?
is "$rc" 0 "ksm: exit 0"
ok "ksm shows ksmd running" grep -q '^ksmd running (run 1)' "$T/show"
ok "ksm shows pages_to_scan with its unit and meaning" \
	grep -Eq '^pages_to_scan +[0-9]+ +pages +pages scanned per wake-up' "$T/show"
ok "ksm shows counters apart (pages_sharing)" grep -Eq '^pages_sharing +[0-9]+ +pages ' "$T/show"
ok "ksm show is the same" sh -c "'$K' ksm show | grep -q '^sleep_millisecs .* ms '"

# stopped: every command whose result depends on ksmd says so
"$K" ksm off > "$T/out" 2>&1; rc=$?
is "$rc.$(cat $S/run)" "0.0" "ksm off: run 0"
ok "ksm off reports the change" grep -q '^run: 1 -> 0' "$T/out"
"$K" -- sh -c 'exit 7' 2> "$T/err"; rc=$?
is "$rc" 7 "run form with ksmd stopped: the command still runs (rc 7)"
ok "... and stderr says ksmd is not running" grep -q "ksmd is not running.*ksmpreload ksm on" "$T/err"
"$K" ksm > "$T/show"
ok "ksm show says stopped" grep -q '^ksmd stopped (run 0)' "$T/show"
if [ -c /dev/fuse ] && command -v fusermount3 >/dev/null 2>&1; then
	MNT=$T/mnt; mkdir "$MNT"
	"$M" "$MNT" 2> "$T/merr"; rc=$?
	is "$rc" 0 "mergefs mounts with ksmd stopped"
	ok "... and says on stderr that ksmd is not running" grep -q 'mergefs: warning: ksmd is not running' "$T/merr"
	fusermount3 -u "$MNT"; MNT=
else
	skip_env 2 "/dev/fuse or fusermount3 missing"
fi

"$K" ksm on > "$T/out" 2>&1; rc=$?
is "$rc.$(cat $S/run)" "0.1" "ksm on: run 1"
"$K" -- true 2> "$T/err"
is "$(cat "$T/err")" "" "run form with ksmd running: nothing on stderr"

# set, with validation: all or nothing
"$K" ksm set pages_to_scan=321 sleep_millisecs=17 > "$T/out" 2>&1; rc=$?
is "$rc.$(cat $S/pages_to_scan).$(cat $S/sleep_millisecs)" "0.321.17" "ksm set writes two knobs"
old=$(cat $S/sleep_millisecs)
"$K" ksm set sleep_millisecs=33 pages_to_scan=12x > "$T/out" 2>&1; rc=$?
is "$rc.$(cat $S/sleep_millisecs)" "1.$old" "a bad value: exit 1 and nothing written"
ok "... and the message names the knob" grep -q "pages_to_scan needs a whole number, not '12x'" "$T/out"
"$K" ksm set run=2 > "$T/out" 2>&1; rc=$?
is "$rc.$(cat $S/run)" "1.1" "set run=2 refused (run stays 1)"
ok "... pointing to off --unmerge-all" grep -q 'ksm off --unmerge-all' "$T/out"
"$K" ksm set advisor_max_cpu=101 use_zero_pages=2 max_page_sharing=1 nosuch=1 pages_shared=1 > "$T/out" 2>&1; rc=$?
is "$rc.$(grep -c . "$T/out")" "1.5" "five bad settings, five messages, exit 1"
"$K" ksm off --bogus > /dev/null 2>&1; rc=$?
is "$rc.$(cat $S/run)" "2.1" "off with an unknown option: usage error, nothing written"
"$K" ksm off --force > /dev/null 2>&1; rc=$?
is "$rc.$(cat $S/run)" "2.1" "off --force without --unmerge-all: usage error, nothing written"
# --unmerge-all checks the host's memory first: with merged pages present
# and a margin larger than any MemAvailable here (1 TiB), it refuses and
# writes nothing (run=2 itself is never written by the suite)
seed=$(( $$ % 100000 + 515151 ))
printf 'name ksmd-test\nmode regions\nmerge mmap min=1M\n' > "$T/m.policy"
for i in 1 2; do
	env LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY="$T/m.policy" \
		"$KSMP_BUILDDIR/tests/progs/mergefs_target" -n -A -s "$seed" -m 8 > "$T/m$i" &
	eval "m${i}_pid=\$!"
done
i=0; until [ "$(cat $S/pages_sharing)" -gt 0 ] || [ $i -ge 400 ]; do sleep 0.05; i=$((i + 1)); done
"$K" ksm off --unmerge-all --margin 1048576 > "$T/out" 2>&1; rc=$?
kill "$m1_pid" "$m2_pid" 2>/dev/null; wait "$m1_pid" "$m2_pid" 2>/dev/null
is "$rc.$(cat $S/run)" "1.1" "off --unmerge-all without the memory for it: exit 1, run stays 1"
ok "... and says what it needs and has" grep -q "unmerging every merged page needs .* MiB; the host has .* MiB available (margin 1048576 MiB): refused" "$T/out"

# apply: the file ksmpreload-ksm.service reads at boot
printf '# boot settings\nrun=1\n  pages_to_scan = 5\n' > "$T/bad.conf"
"$K" ksm apply "$T/bad.conf" > "$T/out" 2>&1; rc=$?
ok "apply: 'KEY = VALUE' with blanks is refused with file:line (rc $rc)" grep -q "bad.conf:3: unknown knob 'pages_to_scan '" "$T/out"
ok "... and nothing changed" grep -q 'nothing changed' "$T/out"
printf '# boot settings\nrun=1   # start ksmd\n\npages_to_scan=444\nsleep_millisecs=21\n' > "$T/good.conf"
"$K" ksm apply "$T/good.conf" > "$T/out" 2>&1; rc=$?
is "$rc.$(cat $S/pages_to_scan).$(cat $S/sleep_millisecs)" "0.444.21" "apply writes the file's settings"
"$K" ksm apply "$T/nonexistent.conf" > "$T/out" 2>&1; rc=$?
ok "apply: a missing file is an error (rc $rc)" [ "$rc" = 1 ] && grep -q 'No such file' "$T/out"
# an unprivileged user cannot change ksmd
if command -v setpriv >/dev/null 2>&1; then
	setpriv --reuid 65534 --regid 65534 --clear-groups "$K" ksm set pages_to_scan=10 > "$T/out" 2>&1; rc=$?
	is "$rc.$(cat $S/pages_to_scan)" "1.444" "non-root: refused by the kernel, exit 1"
else
	skip 1 "setpriv not installed"
fi
done_testing
