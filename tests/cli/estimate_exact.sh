#!/bin/sh
# ksmpreload estimate is exact: three estimate_hold processes hold known
# duplicate, zero and unique pages in every kind of memory; the report must
# show them exactly where the test controls the whole mapping (an anonymous
# mmap, a private file mapping), at least them in the heap, arena and stacks,
# and agree exactly (per region, kind, process, total) with an independent
# implementation in tests/cli/estimate_oracle.py. Also: JSON parses, NAME
# selects the processes, the table form adds up.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
command -v python3 >/dev/null 2>&1 || skip_all_env "python3 not installed"
est() { "$KSMP_BUILDDIR/cli/ksmpreload" estimate "$@"; }
hold="$KSMP_BUILDDIR/tests/progs/estimate_hold"
[ -x "$KSMP_BUILDDIR/cli/ksmpreload" ] && [ -x "$hold" ] || skip_all "not built"

tmp=$(mktemp -d) || exit 1
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 1' INT TERM

# Page counts per kind; the seed is this test's own pattern.
D=12 Z=5 U=7 R=4 RO=6 SEED=0x6573746931
specs=""
for i in 1 2 3; do
	"$hold" -s $SEED -d $D -z $Z -u $U -r $R -f $RO -t 120 >"$tmp/h$i" &
	pids="$pids $!"
done
for i in 1 2 3; do
	n=0
	until grep -q ready "$tmp/h$i" 2>/dev/null; do
		n=$((n + 1)); [ $n -lt 200 ] || break; sleep 0.05
	done
done
i=0
for p in $pids; do
	i=$((i + 1))
	line=$(cat "$tmp/h$i")
	mm=${line#*mmap=}; mm=${mm%% *}; fm=${line#*file=}
	specs="$specs $p:$mm:$fm"
done
# Non-root: owner access is enough, but PFNs are hidden (shared pages
# then count once per mapping, which the oracle cannot tell apart).
[ "$(id -u)" -eq 0 ] || skip_all_env "needs root (PFNs in /proc/PID/pagemap)"

est --json --regions $pids >"$tmp/out.json" 2>"$tmp/err"
rc=$?
is "$rc" 0 "estimate --json of 3 processes exits 0"
[ -s "$tmp/err" ] && sed 's/^/# stderr: /' "$tmp/err"
ok "JSON parses (python3 -m json.tool)" python3 -m json.tool "$tmp/out.json" /dev/null

tap_py() { # run the checker, turn its PASS/FAIL lines into TAP
	python3 "$KSMP_SRCDIR/tests/cli/estimate_oracle.py" "$@" >"$tmp/py" 2>&1
	prc=$?
	while IFS= read -r l; do
		case $l in
		"PASS "*) _tap_result 0 "${l#PASS }" ;;
		"FAIL "*) _tap_result 1 "${l#FAIL }" ;;
		*) diag "$l" ;;
		esac
	done <"$tmp/py"
	[ $prc -eq 0 ] || [ $tap_failed -gt 0 ] || _tap_result 1 "checker failed ($prc)"
}
tap_py known "$tmp/out.json" $D $Z $U $R $RO $specs
tap_py oracle "$tmp/out.json" $pids

# NAME: all three (and no pid of the test itself).
est --json --by process estimate_hold >"$tmp/name.json" 2>"$tmp/err"
is "$?" 0 "estimate NAME exits 0"
got=$(python3 -c 'import json,sys; print(" ".join(str(p["pid"]) for p in json.load(open(sys.argv[1]))["processes"]))' "$tmp/name.json" 2>&1)
missing=""
for p in $pids; do case " $got " in *" $p "*) ;; *) missing="$missing $p" ;; esac; done
is "$missing" "" "estimate_hold resolves to every holder (got: $got)"

# The same pids in another order: the totals do not depend on it.
rev=$(for p in $pids; do echo "$p"; done | sort -rn | tr '\n' ' ')
est --json $rev >"$tmp/rev.json"
t1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"])' "$tmp/out.json")
t2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"])' "$tmp/rev.json")
[ -n "$t1" ] || t1="(no total)"
is "$t2" "$t1" "totals do not depend on the order of the pids"

# 4 KiB chunks (PAGEMAP_SCAN runs for every region over 16 KiB) and a rate
# limit: the same figures.
est --json --chunk 4K --max-rate 64M $pids >"$tmp/small.json"
t3=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"])' "$tmp/small.json")
is "$t3" "$t1" "--chunk 4K --max-rate 64M: the same totals"

# Table: the total line matches the JSON figures.
est --by kind $pids >"$tmp/table" 2>&1
is "$?" 0 "table form exits 0"
want=$(python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["total"]; print(t["pages"], t["zero_pages"], t["saved_pages"])' "$tmp/out.json")
got=$(awk '$1 == "total" { print $2, $4, $6 }' "$tmp/table")
is "$got" "$want" "table total line: pages zero saved"
sed 's/^/# /' "$tmp/table"
plan "$tap_n"
done_testing
