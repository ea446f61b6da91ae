#!/bin/sh
# preload_rules.sh - the regions engine marks exactly what the policy
# selects: mg in /proc/PID/smaps on the selected mappings only. Covers
# first-match skip rules, size bounds, caller= (a mmap made inside a small
# test .so), mmap64, process mode and mode off. One instance per case; no
# ksmd needed (mg is set by madvise itself).
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
need_ksm
pl_need_lib
pl_tmp

plan 23
LIB=$(ksmp_preload)

# run_case NAME POLICY-TEXT SPEC...: start one instance, leave pid in P
run_case() {
	name=$1; text=$2; shift 2
	pol=$(pl_policy "$name" "$text")
	pl_start "$PL_TMP/$name.out" env LD_PRELOAD="$LIB" KSMP_POLICY="$pol" \
		"$PROGS/ksmp-alloc" -s 7 "$@"
	P=$PL_LAST
	pl_wait_ready "$PL_TMP/$name.out"
}
# mg_is NAME REGION WANT MSG
mg_is() {
	a=$(pl_addr "$PL_TMP/$1.out" "$2")
	is "$(pl_probe mg "$P" "${a:-0}")" "$3" "$4"
}

run_case first_skip 'mode regions
skip mmap max=1M
merge mmap' mmap:64K mmap:2M
mg_is first_skip 0 nomg "skip max=1M before merge: 64K mmap not advised"
mg_is first_skip 1 mg "skip max=1M before merge: 2M mmap advised"
pl_stop

run_case first_merge 'mode regions
merge mmap
skip mmap max=1M' mmap:64K mmap:2M
mg_is first_merge 0 mg "merge before skip: 64K mmap advised (first match wins)"
mg_is first_merge 1 mg "merge before skip: 2M mmap advised"
pl_stop

run_case bounds 'mode regions
merge mmap min=1M max=4M' mmap:64K mmap:2M mmap:8M mmap64:2M mmap64:64K
mg_is bounds 0 nomg "min=1M: 64K mmap not advised"
mg_is bounds 1 mg "min=1M max=4M: 2M mmap advised"
mg_is bounds 2 nomg "max=4M: 8M mmap not advised"
mg_is bounds 3 mg "mmap64 2M advised (mmap64 interposed)"
mg_is bounds 4 nomg "mmap64 64K not advised"
if sanitized; then skip 1 "no brk heap under ASan's allocator"; else
	is "$(pl_probe mg "$P" '[heap]')" nomg "heap not advised when only mmap is selected"; fi
pl_stop

run_case skipcaller 'mode regions
skip any caller=libksmpcaller*
merge mmap' lib:2M mmap:2M
mg_is skipcaller 0 nomg "skip caller=libksmpcaller*: its mmap not advised"
mg_is skipcaller 1 mg "the program's own mmap advised"
pl_stop

run_case caller 'mode regions
merge mmap caller=libksmpcaller.so' lib:2M mmap:2M
mg_is caller 0 mg "merge caller=libksmpcaller.so: its mmap advised"
mg_is caller 1 nomg "the program's own mmap not advised"
pl_stop

run_case prot 'mode regions
merge mmap prot=r' mmap:2M
mg_is prot 0 nomg "prot=r does not select a rw mapping"
pl_stop

run_case process 'mode process' mmap:2M small:1M
is "$(pl_probe stat "$P" ksm_merge_any)" 1 "mode process: ksm_merge_any is 1"
mg_is process 0 mg "mode process: mmap has mg"
if sanitized; then skip 1 "no brk heap under ASan's allocator"; else
	is "$(pl_probe mg "$P" '[heap]')" mg "mode process: heap has mg"; fi
st=$(pl_probe state "$P")
case $st in "engine 1 "*) r=0;; *) r=1; diag "state: $st";; esac
ok "mode process: state block says engine process" [ $r -eq 0 ]
pl_stop

run_case off 'mode off
merge any' mmap:2M small:1M
is "$(pl_probe mgcount "$P")" 0 "mode off: no mapping has mg"
is "$(pl_probe stat "$P" ksm_merge_any)" 0 "mode off: ksm_merge_any is 0"
pl_stop

run_case regions 'mode regions
merge mmap min=1M' mmap:2M
st=$(pl_probe state "$P")
case $st in "engine 2 "*"policy regions"*) r=0;; *) r=1; diag "state: $st";; esac
ok "mode regions: state block says engine regions and names the policy" [ $r -eq 0 ]
is "$(pl_probe stat "$P" ksm_merge_any)" 0 "mode regions: ksm_merge_any is 0"
pl_stop

done_testing
