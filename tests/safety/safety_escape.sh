#!/bin/sh
# safety_escape - regression test (bugs-mergefs.md, "[safety2] control
# bytes", fixed): a process under the library (any user's) puts terminal
# escape sequences, a tab, DEL, backspace and CR in its policy name, policy
# source, exe, a region's caller and its policy text; mergefs passed them
# on in stats, regions and policy to whoever read them (root's terminal
# included). Now: no byte below 0x20 but the newline, and no DEL, in any
# of them.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/mergefs_common.sh"
mfs_init root fuse

plan 2
ok "mergefs mounts" mfs_mount allow_other,timeout=1000
"$P/safety_corrupt" "$MNT" 0 1 "$OUT" escape > "$OUT/esc" 2> "$OUT/esc.err"
rc=$?
sed 's/^/# /' "$OUT/esc"
cat -v "$OUT/esc.err" | head -n 12 | sed 's/^/# /'
set -- $(cat "$OUT/esc")
diag "read ${2:-0} of stats, regions, policy and regions_ksm"
is "$rc" 0 "no control byte (escape, tab, DEL, CR) from the block reaches a file"
done_testing
