#!/bin/sh
# attach_merge.sh - `ksmpreload attach` makes running programs that never
# loaded the library merge, judged by the kernel's per-process counters:
# process mode (prctl) and regions mode (madvise of the ranges the policy
# selects), JSON output, the record detach uses, and detach undoing both.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/attach/attach_common.sh"
need_root
need_ksm
ksm_fast	# re-executes this script under ksm-hold: before at_setup's scratch dir
at_setup
plan 19
MIB=16
PAGES=$((MIB * 256))

# process mode: two instances holding the same pages
at_start p1 "$TGT" hold 0x7a11ac41 $MIB; P1=$AT_PID
at_start p2 "$TGT" hold 0x7a11ac41 $MIB; P2=$AT_PID
is "$("$PROBE" stat $P1 ksm_merging_pages)" 0 "nothing merges before attach"
out=$("$K" attach --mode process $P1 $P2 2>&1)
is "$?" 0 "attach --mode process exits 0"
case $out in *"$P1 attach_target: process mode: prctl(PR_SET_MEMORY_MERGE, 1) done"*"stopped "*" us"*) r=0;; *) r=1; diag "$out";; esac
ok "it says what it did and the stop time" [ $r -eq 0 ]
is "$(grep ksm_merge_any "/proc/$P1/ksm_stat")" "ksm_merge_any: yes" "the process merges as a whole"
sum=$("$PROBE" plateau 30 $P1 $P2 | sed -n 's/^sum //p')
diag "merging pages: $sum of $((2 * PAGES))"
ok "its memory merged (>= 90% of $((2 * PAGES)) pages)" [ "${sum:-0}" -ge $((2 * PAGES * 9 / 10)) ]
ok "a record of it is kept" grep -q '^process 1' "$T/rec/$P1"
at_send p1 x
at_wait_line p1 '^read 2'
ok "the program's read() returned its own data after attach" grep -q '^read 2$' "$T/p1.out"

out=$("$K" detach $P2 2>&1)
is "$?" 0 "detach exits 0"
is "$(grep ksm_merge_any "/proc/$P2/ksm_stat")" "ksm_merge_any: no" "detach: whole-process merging is off"
ok "detach removes the record" [ ! -e "$T/rec/$P2" ]

# regions mode with a policy that selects the big anonymous mapping only
printf 'mode regions\nmerge mmap min=8M prot=rw\n' > "$T/big.policy"
at_start r1 "$TGT" hold 0x7a11ac42 $MIB; R1=$AT_PID
at_start r2 "$TGT" hold 0x7a11ac42 $MIB; R2=$AT_PID
A1=$(sed -n 's/^addr //p' "$T/r1.out")
out=$("$K" attach --json -p "$T/big.policy" $R1 $R2)
is "$?" 0 "attach -p POLICY (regions) exits 0"
echo "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert len(d) == 2 and all(p["ok"] and p["mode"] == "regions" and p["ranges"] == 1 for p in d), d
assert d[0]["bytes"] == '$((MIB << 20))', d
assert d[0]["stop_us"] > 0
' 2>&1
ok "--json: valid, one range of $MIB MiB each" [ $? -eq 0 ]
is "$("$PROBE" mg $R1 "$A1")" mg "the selected mapping is mergeable"
is "$("$PROBE" mgcount $R1)" 1 "and nothing else"
is "$(grep ksm_merge_any "/proc/$R1/ksm_stat")" "ksm_merge_any: no" "regions mode leaves whole-process merging off"
sum=$("$PROBE" plateau 30 $R1 $R2 | sed -n 's/^sum //p')
ok "regions mode merged (>= 90% of $((2 * PAGES)) pages)" [ "${sum:-0}" -ge $((2 * PAGES * 9 / 10)) ]
"$K" detach $R1 > /dev/null
is "$("$PROBE" mg $R1 "$A1")" nomg "detach: MADV_UNMERGEABLE over what attach advised"

# a static binary (busybox-static): 16 MiB of one 16-byte pattern in awk
if [ -x /bin/busybox ]; then
	AWK='BEGIN { s = "ksmp-attach-bb-7"; for (i = 0; i < 20; i++) s = s s;
		print "ready"; fflush(); getline x; print length(s) }'
	at_start bb /bin/busybox awk "$AWK"; B=$AT_PID
	"$K" attach --mode process $B > /dev/null
	is "$?" 0 "static busybox awk: attach exits 0"
	sum=$("$PROBE" plateau 30 $B | sed -n 's/^sum //p')
	diag "busybox merging pages: $sum"
	ok "static busybox awk: its 16 MiB string merged (>= 3000 pages)" [ "${sum:-0}" -ge 3000 ]
else
	skip_env 2 "no /bin/busybox (busybox-static)"
fi
done_testing
