#!/bin/sh
# profile_debuginfo.sh - `ksmpreload profile` names the functions of a
# stripped binary from its build-id debug file (KSMP_DEBUGINFO_PATH, then
# /usr/lib/debug): the test workload's debug info is split off with
# objcopy --only-keep-debug into DIR/.build-id/xx/yyyy.debug and the
# binary stripped. Found: its static function is the origin; no debug
# file, or one of another build: the address form. Built with libdw: a
# debug file whose .symtab lacks the function still names it (DWARF).
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
need_root
pl_need_lib
KP="$KSMP_BUILDDIR/cli/ksmpreload"
HOLD="$PROGS/profile_hold"
[ -x "$KP" ] && [ -x "$HOLD" ] || skip_all "not built"
command -v objcopy > /dev/null && command -v readelf > /dev/null ||
	skip_all_env "objcopy or readelf missing (binutils)"
if sanitized; then
	# the ASan runtime must come first: profile appends the library
	LD_PRELOAD=$KSMP_ASAN_RUNTIME ASAN_OPTIONS=detect_leaks=0
	export LD_PRELOAD ASAN_OPTIONS
fi
pl_tmp
P="$PL_TMP/dbgprog"
cp "$HOLD" "$P"
id=$(LC_ALL=C readelf -n "$P" 2>/dev/null | sed -n 's/^ *Build ID: *\([0-9a-f]*\)$/\1/p' | head -1)
[ ${#id} -ge 4 ] || skip_all "the test workload has no build-id (linked without --build-id)"
D="$PL_TMP/debug/.build-id/$(echo "$id" | cut -c1-2)"
F="$D/$(echo "$id" | cut -c3-).debug"
mkdir -p "$D"
objcopy --only-keep-debug "$P" "$PL_TMP/full.debug" && objcopy --strip-all "$P" ||
	skip_all_env "objcopy cannot split the debug info"
SEED=$(( $$ % 100000 + 7300 ))
plan 7

prof() { # prof LABEL DEBUGINFO_PATH: profile it; $rc, $origins
	KSMP_DEBUGINFO_PATH=$2 timeout 25 "$KP" profile --force -n 1 --settle 1 \
		-o "$PL_TMP/$1.policy" --report "$PL_TMP/$1.report" -- "$P" $SEED 4 \
		> "$PL_TMP/$1.out" 2> "$PL_TMP/$1.err"
	rc=$?
	sed 's/^/# /' "$PL_TMP/$1.report" | grep -E '^# (mmap|kind)'
	# the workload's two mmap origins, sorted
	origins=$(echo $(awk '$1 == "mmap" && $2 ~ /^dbgprog!/ { print $2 }' "$PL_TMP/$1.report" | sort))
}
named="dbgprog!profile_private_noise dbgprog!profile_shared_data"
addresses() { echo "$origins" | grep -Eq '^dbgprog!0x[0-9a-f]+ dbgprog!0x[0-9a-f]+$'; }

ok "the stripped binary has no .symtab" sh -c "! LC_ALL=C readelf -S '$P' 2>/dev/null | grep -q '\.symtab'"
cp "$PL_TMP/full.debug" "$F"
prof found "/nonexistent::$PL_TMP/debug"
is "$rc" 0 "profile exits 0"
is "$origins" "$named" \
	"with the debug file: the static functions are named (second entry of KSMP_DEBUGINFO_PATH)"
prof none "/nonexistent"
ok "without it: the address form ($origins)" addresses
# a debug file of another build at the same path is not taken
objcopy --only-keep-debug "$PROGS/estimate_hold" "$F"
prof other "$PL_TMP/debug"
ok "a debug file with another build-id is not used ($origins)" addresses
# the debug file's symbol table without the function: DWARF names it
objcopy --strip-symbol=profile_shared_data --strip-symbol=profile_private_noise \
	"$PL_TMP/full.debug" "$F"
ok "the debug file's .symtab no longer has the function" \
	sh -c "! LC_ALL=C readelf -s '$F' 2>/dev/null | grep -q profile_shared_data"
if grep -q '^#define HAVE_LIBDW 1' "$KSMP_BUILDDIR/config.h"; then
	prof dwarf "$PL_TMP/debug"
	is "$origins" "$named" "libdw: named from the debug file's DWARF"
else
	skip 1 "built without libdw (configure --with-libdw)"
fi
done_testing
