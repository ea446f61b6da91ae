#!/bin/sh
# preload_remap.sh - mremap and the library's records of what it advised:
# a mapping moved by mremap (MREMAP_MAYMOVE) is recorded where it went and
# no longer where it was; one moved with MREMAP_DONTUNMAP leaves the old
# range mapped and still mergeable (the kernel keeps its flags): it must
# stay recorded too, or an unmerge by command (which goes by the records)
# would leave it merged. Policy 'merge mmap'; ksmp-alloc remap:4M
# (mmap 2 MiB grown to 4 MiB) and dontunmap:4M; no KSM needed. Then 20
# records in one VMA (ksmp-alloc remapmany:30M: mmaps of 1 and 2 MiB in
# turn, which two rules tell apart) moved by one mremap: only the first
# 16 parts were recorded where they went, the rest were forgotten.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
pl_need_lib
pl_tmp
POL=$(pl_policy mmap 'mode regions
merge mmap')
plan 8

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

POL2=$(pl_policy mmap2 'mode regions
merge mmap min=2M
merge mmap')
pl_start "$PL_TMP/many" env LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY="$POL2" \
	"$PROGS/ksmp-alloc" remapmany:30M
pl_wait_ready "$PL_TMP/many" || true
p=$PL_LAST
first=$(pl_addr "$PL_TMP/many" 0 1) last=$(pl_addr "$PL_TMP/many" 0 2)
is "$(pl_record "$p" "$last" | cut -d' ' -f1)" mmap "remapmany: the last of 20 records moved by one mremap is recorded where it went"
lo=$(( $(printf '%d' "$first") - (512 << 10) ))
n=$(pl_probe records "$p" | awk -v lo="$lo" -v hi=$((lo + (30 << 20))) '
	function hex(s,  i, n) {
		n = 0; s = tolower(s)
		for (i = 1; i <= length(s); i++)
			n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return n
	}
	$3 == "mmap" && hex($1) >= lo && hex($1) < hi { n += $2; k++ }
	END { print k + 0, n + 0 }')
is "$n" "20 $((30 << 20))" "remapmany: 20 records, 30 MiB, where the range went"
pl_stop
done_testing
