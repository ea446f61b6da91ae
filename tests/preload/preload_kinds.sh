#!/bin/sh
# preload_kinds.sh - each region kind on its own: a policy merging only that
# kind, 2 instances holding identical seeded data of that kind plus a
# control mmap/chunk of another kind (identical too). Per process: mg on the
# kind's memory, none on the control, and ksm_merging_pages covering the
# kind's data but not the control's. Also the built-in default (no policy
# file: an empty policy directory) on a thread stack, with a private file
# mapping, which it never merges, as the control. "walled": brk cannot
# grow, glibc maps the main arena's pieces itself (preload/apart.c).
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
need_root
need_ksm
[ -r /proc/self/ksm_stat ] || skip_all_env "kernel has no /proc/PID/ksm_stat"
pl_need_lib
ksm_fast "$@"
pl_tmp

N=2
DATA=1024	# pages in 4 MiB
SLACK=48	# other identical pages the kind may legitimately hold
plan 116

# kind_case NAME POLICYKIND NADDR SPEC CONTROL (POLICYKIND "-": the
# built-in default)
kind_case() {
	name=$1; pk=$2; naddr=$3; spec=$4; ctl=$5
	per=$((naddr + 3))
	if sanitized && { [ "$pk" = heap ] || [ "$pk" = arena ] || [ "$pk" = chunk ]; }; then
		skip $((per * N)) "$name: ASan's malloc shadows the library's malloc interposers"
		return
	fi
	if sanitized && [ "$pk" = - ]; then
		skip $((per * N)) "$name: the built-in default also merges the ASan runtime's own equal mappings, so the control count does not hold"
		return
	fi
	if [ "$pk" = - ]; then
		mkdir -p "$PL_TMP/empty.d"
		polenv="KSMP_POLICY_DIR=$PL_TMP/empty.d" under="the built-in default"
	else
		under="'merge $pk'"
		polenv="KSMP_POLICY=$(pl_policy "$name" "mode regions
merge $pk")"
	fi
	pids=""
	for i in $(seq $N); do
		pl_start "$PL_TMP/$name$i.out" env LD_PRELOAD="$(ksmp_preload)" \
			"$polenv" "$PROGS/ksmp-alloc" -s 401 "$spec" "$ctl"
		pids="$pids $PL_LAST"
	done
	k=0
	for p in $pids; do
		k=$((k + 1)); out="$PL_TMP/$name$k.out"
		pl_wait_ready "$out" || true
		for j in $(seq "$naddr"); do
			is "$(pl_probe mg "$p" "$(pl_addr "$out" 0 "$j")")" mg \
				"$name $k: $spec ($j) has mg under $under"
		done
		is "$(pl_probe mg "$p" "$(pl_addr "$out" 1)")" nomg "$name $k: control $ctl has no mg"
	done
	res=$(pl_probe plateau 20 $pids)
	diag "$name plateau:" $res
	k=0
	for p in $pids; do
		k=$((k + 1)); out="$PL_TMP/$name$k.out"
		m=$(echo "$res" | awk -v p="$p" '$1 == p { print $2 }')
		pl_ge "$m" $((DATA * 90 / 100)) "$name $k: merging pages $m >= 90% of $DATA"
		pl_le "$m" $((DATA + SLACK)) "$name $k: control not merged ($m <= $DATA + $SLACK)"
	done
	pl_stop
}

kind_case heap heap 1 small:4M mmap:2M
kind_case arena arena 4 threads:4M mmap:2M
kind_case chunk chunk 1 malloc:4M mmap:2M
kind_case calloc chunk 1 calloc:4M mmap:2M
kind_case tchunk chunk 4 tbig:4M mmap:2M
kind_case mmap mmap 1 mmap:4M malloc:2M
kind_case mmap64 mmap 1 mmap64:4M malloc:2M
kind_case remap mmap 1 remap:4M malloc:2M
kind_case sbrk heap 1 sbrk:4M mmap:2M
kind_case walled heap 1 walled:4M mmap:2M
kind_case file file 1 file:4M mmap:2M
kind_case stack stack 1 stack:4M mmap:2M
kind_case defstack - 1 stack:4M file:2M
done_testing
