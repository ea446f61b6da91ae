#!/bin/sh
# escape_utf8 - regression test (issue 10, item 5, the /PID/stats part):
# every string a process controls reaches a reader's terminal escaped. A
# process named "\e]2;PWNED\a\xff" (its comm, which any process may set
# for itself) had its escape and BEL escaped already, but the byte 0xff,
# and any byte >= 0x80, went out raw: invalid UTF-8, and the C1 control
# CSI (U+009B, bytes c2 9b), which terminals obey like ESC [. Now a
# byte that is not part of well-formed UTF-8, or is part of a C1
# control, is written as \xHH; well-formed UTF-8 (e.g. "café") stays.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/mergefs_common.sh"
mfs_init root fuse
command -v od >/dev/null 2>&1 || skip_all_env "od not installed"
mfs_mount allow_other,timeout=1000 || { echo "Bail out! mount failed"; exit 1; }

# one target per name (printf escapes), started here (not in a command
# substitution, whose subshell would keep their pids from the cleanup)
n=0
for name in '\033]2;PWNED\007\377' 'a\302\233b' 'caf\303\251' 'x\300\257\355\240\200'; do
	n=$((n + 1))
	start "t$n" -s $((620 + n)) -K 64 -N "$(printf "$name")"
done
# name_hex N: the "name" line of target N's stats as hex bytes
name_hex() {
	eval "pid=\$t${1}_pid"
	sed -n 's/^name //p' "$MNT/$pid/stats" | tr -d '\n' | od -An -tx1 | tr -d ' \n'
}
hexof() { printf "$1" | od -An -tx1 | tr -d ' \n'; }
plan 5
hex=$(name_hex 1)
diag "name of ESC ]2;PWNED BEL 0xff, as bytes in stats: $hex"
ok "no raw ESC, BEL or 0xff byte in stats" sh -c "[ -n '$hex' ] && ! echo '$hex' | grep -Eq '^(..)*(1b|07|ff)'"
is "$hex" "$(hexof '\\x1b]2;PWNED\\x07\\xff')" "they are written as \\xHH"
is "$(name_hex 2)" "$(hexof 'a\\xc2\\x9bb')" "a C1 control in UTF-8 (CSI, c2 9b) is escaped too"
is "$(name_hex 3)" "636166c3a9" "well-formed UTF-8 (café) goes out as it is"
is "$(name_hex 4)" "$(hexof 'x\\xc0\\xaf\\xed\\xa0\\x80')" \
	"an overlong form and a surrogate are escaped byte by byte"
done_testing
