#!/bin/sh
# profile_escape - `ksmpreload profile` writes the names of shared objects
# and functions into the suggested policy's comment lines escaped (issue
# 10, item 5): memory mapped by a shared object named "x<newline>merge
# any<newline>#.so" used to put a `merge any` rule into the suggested
# policy, which `ksmpreload check` accepts. Now the name shows as
# x\x0amerge any\x0a#.so in one comment line and the policy's rules are
# only those profile itself chose; the report is escaped too.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
need_root
K=$KSMP_BUILDDIR/cli/ksmpreload
W=$KSMP_BUILDDIR/tests/libsec/profile_dso
SO=$KSMP_BUILDDIR/tests/progs/libksmpcaller.so
[ -x "$K" ] && [ -x "$W" ] && [ -f "$SO" ] && [ -f "$(ksmp_lib)" ] || skip_all "not built"
if sanitized; then
	# the ASan runtime must come first: profile appends the library
	LD_PRELOAD=$KSMP_ASAN_RUNTIME ASAN_OPTIONS=detect_leaks=0
	export LD_PRELOAD ASAN_OPTIONS
fi
. "$KSMP_SRCDIR/tests/libsec/common.sh"
ls_scratch profesc

nl='
'
evil="$T/x${nl}merge any${nl}#.so"
cp "$SO" "$evil"
SEED=$(( $$ % 100000 + 9100 ))

plan 6
timeout 25 "$K" profile --force -n 2 --settle 1 -o "$T/sugg.policy" --report "$T/report" \
	-- "$W" "$evil" $SEED 4 > "$T/out" 2> "$T/err"
is "$?" 0 "profile exits 0"
[ -s "$T/err" ] && sed 's/^/# stderr: /' "$T/err"
sed 's/^/# /' "$T/sugg.policy"
ok "the suggested policy passes ksmpreload check" "$K" check -q "$T/sugg.policy"
is "$(grep -c '^merge any' "$T/sugg.policy")" 0 "no 'merge any' rule from the object's name"
is "$(grep -Ev '^[[:space:]]*(#|$)' "$T/sugg.policy" | grep -Ev '^(name|program|mode|log|strict|control|heap-step) ' |
	grep -Ev '^skip +(any|mmap|chunk|heap|arena|stack|file)(,[a-z]+)* caller=lib(crypto|ssl|gnutls|nss3|sodium|gcrypt|nettle|mbedcrypto|wolfssl)' |
	grep -Ev '^(merge|skip) +(heap|arena|chunk|mmap|file|stack)$' |
	{ if sanitized; then grep -Ev '^skip +mmap caller=libasan\.so'; else cat; fi; } |
	tr '\n' '|')" "" \
	"its only rules are the crypto skips and rules by kind (ksmd may have merged meanwhile)"
ok "the object's name is in one comment line, escaped" \
	grep -qF '# mmap from x\x0amerge any\x0a#.so:' "$T/sugg.policy"
ok "the report has it escaped too" grep -qF 'x\x0amerge any\x0a#.so' "$T/report"
done_testing
