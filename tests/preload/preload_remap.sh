#!/bin/sh
# preload_remap.sh - mremap and the library's records of what it advised:
# a mapping moved by mremap (MREMAP_MAYMOVE) is recorded where it went and
# no longer where it was; one moved with MREMAP_DONTUNMAP leaves the old
# range mapped and still mergeable (the kernel keeps its flags): it must
# stay recorded too, or an unmerge by command (which goes by the records)
# would leave it merged. Policy 'merge mmap'; ksmp-alloc remap:4M
# (mmap 2 MiB grown to 4 MiB) and dontunmap:4M; no KSM needed.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
pl_need_lib
pl_tmp
POL=$(pl_policy mmap 'mode regions
merge mmap')
plan 6

pl_start "$PL_TMP/out" env LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY="$POL" \
	"$PROGS/ksmp-alloc" remap:4M dontunmap:4M
pl_wait_ready "$PL_TMP/out" || true
p=$PL_LAST
if grep -q "mremap" "$PL_TMP/out.err"; then
	skip 6 "MREMAP_DONTUNMAP refused: $(head -n 1 "$PL_TMP/out.err")"
	done_testing
	exit
fi
moved=$(pl_addr "$PL_TMP/out" 0)
is "$(pl_record "$p" "$moved" | cut -d' ' -f1)" mmap "remap: the grown mapping is recorded where it went"
new=$(pl_addr "$PL_TMP/out" 1 1) old=$(pl_addr "$PL_TMP/out" 1 2)
is "$(pl_probe mg "$p" "$new")" mg "dontunmap: the new range is mergeable"
is "$(pl_record "$p" "$new" | cut -d' ' -f1)" mmap "dontunmap: the new range is recorded"
is "$(pl_probe mg "$p" "$old")" mg "dontunmap: the old range stays mapped and mergeable"
is "$(pl_record "$p" "$old" | cut -d' ' -f1)" mmap "dontunmap: the old range is still recorded"
n=$(pl_probe records "$p" | awk '$3 == "mmap" { n += $2 } END { print n + 0 }')
pl_ge "$n" $((12 << 20)) "the mmap records hold 12 MiB or more: the grown mapping, the new range and the old one ($n bytes)"
pl_stop
done_testing
