#!/bin/sh
# preload_regions.sh - 4 instances with identical seeded data under a policy
# that merges only mmaps of at least 1 MiB: per process, mg on exactly the
# 8 MiB mmap (not on a 64 KiB mmap, not on the heap, both holding identical
# data too), and real merging of the 8 MiB in every instance, judged by
# /proc/PID/ksm_stat and the smaps KSM: lines.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
need_root
need_ksm
[ -r /proc/self/ksm_stat ] || skip_all_env "kernel has no /proc/PID/ksm_stat"
pl_need_lib
ksm_fast "$@"
pl_tmp

N=4
PAGES=2048	# 8 MiB
plan $((N * 7 + 1))
pol=$(pl_policy mmap1m 'mode regions
merge mmap min=1M')
pids=""
for i in $(seq $N); do
	pl_start "$PL_TMP/i$i.out" env LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY="$pol" \
		"$PROGS/ksmp-alloc" -s 301 mmap:8M mmap:64K small:2M
	pids="$pids $PL_LAST"
done
for i in $(seq $N); do pl_wait_ready "$PL_TMP/i$i.out" || true; done
set -- $pids
k=0
for p in $pids; do
	k=$((k + 1)); out="$PL_TMP/i$k.out"
	is "$(pl_probe mg "$p" "$(pl_addr "$out" 0)")" mg "instance $k: 8M mmap has mg"
	is "$(pl_probe mg "$p" "$(pl_addr "$out" 1)")" nomg "instance $k: 64K mmap has no mg"
	if sanitized; then skip 1 "no brk heap under ASan's allocator"; else
		is "$(pl_probe mg "$p" '[heap]')" nomg "instance $k: heap has no mg"; fi
done
res=$(pl_probe plateau 30 $pids)
diag "plateau:" $res
k=0
for p in $pids; do
	k=$((k + 1)); out="$PL_TMP/i$k.out"
	m=$(echo "$res" | awk -v p="$p" '$1 == p { print $2 }')
	pl_ge "$m" $((PAGES * 95 / 100)) "instance $k: ksm_merging_pages $m >= 95% of the 8M"
	pl_le "$m" $((PAGES + 8)) "instance $k: no unselected memory merged ($m pages)"
	is "$(pl_probe ksmkb "$p" "$(pl_addr "$out" 1)")" 0 "instance $k: 64K mmap KSM: 0 kB"
	if sanitized; then skip 1 "no brk heap under ASan's allocator"; else
		is "$(pl_probe ksmkb "$p" '[heap]')" 0 "instance $k: heap KSM: 0 kB"; fi
done
sum=$(echo "$res" | awk '$1 == "sum" { print $2 }')
pl_ge "$sum" $((N * PAGES * 95 / 100)) "sum of merging pages $sum >= 95% of $N x $PAGES"
pl_stop
done_testing
