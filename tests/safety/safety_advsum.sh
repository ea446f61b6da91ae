#!/bin/sh
# safety_advsum - regression test (bugs-mergefs.md, "[safety2] advised
# bytes", fixed): mergefs summed a block's kind[].bytes in a signed 64-bit
# integer for /metrics; a block with huge counts (its own, any user's)
# made that overflow: undefined behaviour, a negative gauge in the release
# build, and in the sanitizer build mergefs aborted (every user of the
# mount lost it). Now: a non-negative value and mergefs still serving.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/mergefs_common.sh"
mfs_init root fuse
plan 2
ok "mergefs mounts" mfs_mount allow_other,timeout=1000
"$P/safety_corrupt" "$MNT" 0 1 "$OUT" advsum > "$OUT/adv" 2> "$OUT/adv.err"
rc=$?
sed 's/^/# /' "$OUT/adv" "$OUT/adv.err" | head -n 12
is "$rc" 0 "huge advised bytes in a block: metrics non-negative, mergefs alive"
done_testing
