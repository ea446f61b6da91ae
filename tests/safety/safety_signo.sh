#!/bin/sh
# safety_signo - regression test (bugs-mergefs.md, "[safety2] signo",
# fixed): mergefs sent the control signal that the target's block names
# without checking that the target catches it, so a block whose signo is a
# signal the process leaves at SIG_DFL (a corrupted block, a stray write
# in the program) got the process killed by a write to its merge file.
# Now: the process survives (the write fails, EOPNOTSUPP, as without a
# control agent).
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/mergefs_common.sh"
mfs_init root fuse

plan 2
ok "mergefs mounts" mfs_mount allow_other,timeout=1000
"$P/safety_corrupt" "$MNT" 0 1 "$OUT" signo > "$OUT/sig" 2> "$OUT/sig.err"
rc=$?
sed 's/^/# /' "$OUT/sig" "$OUT/sig.err"
set -- $(head -n 1 "$OUT/sig")
diag "the write gave: ${2:-nothing}"
is "$rc" 0 "a block naming an uncaught signal: the write does not kill the process"
done_testing
