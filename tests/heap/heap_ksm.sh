#!/bin/sh
# heap_ksm.sh - under real KSM, 4 instances each hold 8 MiB allocated by a
# shared object named like a crypto library and 10 MiB allocated by the
# program, with the same data in every instance. Under whole-process
# merging (process mode) and under a regions policy that merges the heap,
# arenas and chunks (with no caller= rule: the built-in crypto list
# applies), the program's memory merges while the crypto object's blocks
# lie in mappings without mg and with no KSM pages (smaps), and no
# instance has more merging pages than the program's own data.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
. "$KSMP_SRCDIR/tests/heap/heap_common.sh"
need_root
need_ksm
[ -r /proc/self/ksm_stat ] || skip_all_env "kernel has no /proc/PID/ksm_stat"
pl_need_lib
sanitized && skip_all "ASan's allocator comes first: the library's malloc interposers are bypassed"
ksm_fast "$@"
heap_setup

N=4
PLAIN=2465	# pages of the program's own data (2000 x 4000 B + 2 MiB)
plan $((2 * (N * 6 + 1)))

for mode in process regions; do
	if [ $mode = process ]; then pol=$POL_PROCESS; else pol=$POL_REGIONS; fi
	pids=""
	for i in $(seq $N); do
		pl_start "$PL_TMP/$mode$i.out" env LD_PRELOAD="$(ksmp_preload)" \
			KSMP_POLICY="$pol" "$HC" "$HLIB" hold 1313
		pids="$pids $PL_LAST"
	done
	for i in $(seq $N); do pl_wait_ready "$PL_TMP/$mode$i.out" || true; done
	res=$(pl_probe plateau 40 $pids)
	diag "$mode plateau:" $res
	k=0
	for p in $pids; do
		k=$((k + 1)); out="$PL_TMP/$mode$k.out"
		c1=$(awk '$1 == "crypto" { print $2; exit }' "$out")
		c2=$(awk '$1 == "crypto" { n++ } n == 2 { print $2; exit }' "$out")
		p1=$(awk '$1 == "plain" { print $2; exit }' "$out")
		is "$(pl_probe mg "$p" "$c1") $(pl_probe mg "$p" "$c2")" "nomg nomg" \
			"$mode $k: crypto blocks (small, 1 MiB) in mappings without mg"
		is "$(pl_probe ksmkb "$p" "$c1")" 0 "$mode $k: small crypto blocks' mapping: KSM 0 kB"
		is "$(pl_probe ksmkb "$p" "$c2")" 0 "$mode $k: 1 MiB crypto block's mapping: KSM 0 kB"
		is "$(pl_probe mg "$p" "$p1")" mg "$mode $k: the program's blocks are mergeable"
		m=$(echo "$res" | awk -v p="$p" '$1 == p { print $2 }')
		pl_ge "$m" $((PLAIN * 90 / 100)) "$mode $k: the program's data merged ($m pages)"
		pl_le "$m" $((PLAIN + 400)) "$mode $k: nothing like the crypto object's 2000 pages merged"
	done
	sum=$(echo "$res" | awk '$1 == "sum" { print $2 }')
	pl_ge "$sum" $((N * PLAIN * 90 / 100)) "$mode: sum of merging pages $sum"
	pl_stop
done
done_testing
