#!/bin/sh
# preload_chunkfail.sh - a realloc or reallocarray of a malloc chunk (an
# mmapped block) that fails leaves the block as it was, so the library
# must leave its record as it was too: it drops the record before the real
# call (the chunk may be unmapped by it), and puts it back when the call
# fails. ksmp-alloc reallocfail:4M: malloc(4 MiB), filled, realloc and
# reallocarray to 1 PiB, both NULL with ENOMEM, filled again. Policy
# 'merge chunk'; no KSM needed. Not under ASan (its malloc comes first).
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
pl_need_lib
sanitized && skip_all "ASan's malloc shadows the library's malloc interposers"
pl_tmp
POL=$(pl_policy chunk 'mode regions
merge chunk')
plan 4

pl_start "$PL_TMP/out" env LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY="$POL" \
	"$PROGS/ksmp-alloc" reallocfail:4M
pl_wait_ready "$PL_TMP/out" || true
p=$PL_LAST
ok "realloc and reallocarray to 1 PiB fail with ENOMEM, the block kept" \
	grep -q '^ready' "$PL_TMP/out"
[ -s "$PL_TMP/out.err" ] && sed 's/^/# /' "$PL_TMP/out.err"
a=$(pl_addr "$PL_TMP/out" 0)
is "$(pl_probe mg "$p" "$a")" mg "the chunk is still mergeable"
is "$(pl_record "$p" "$a" | cut -d' ' -f1)" chunk "the chunk is still recorded"
n=$(pl_probe records "$p" | awk '$3 == "chunk"' | wc -l)
is "$n" 1 "one chunk record"
pl_stop
done_testing
