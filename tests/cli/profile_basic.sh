#!/bin/sh
# profile_basic.sh - ksmpreload profile end to end on a small C workload:
# 3 instances hold the same seeded 16 MiB (made by a static function) and
# 8 MiB of private noise each. The report must name both origins with the
# function resolved from .symtab, merge the shared one and flag the noise;
# the suggested policy must pass `ksmpreload check` and, run on the same
# workload, merge at least 97% of what whole-process merging does.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
need_root
need_ksm
pl_need_lib
if sanitized; then
	# the ASan runtime must come first: profile appends the library
	LD_PRELOAD=$KSMP_ASAN_RUNTIME ASAN_OPTIONS=detect_leaks=0
	export LD_PRELOAD ASAN_OPTIONS
fi
ksm_fast "$@"
pl_tmp
KP="$KSMP_BUILDDIR/cli/ksmpreload"
HOLD="$PROGS/profile_hold"
SEED=$(( $$ % 100000 + 7100 ))
N=3
plan 14

timeout 28 "$KP" profile -n $N -o "$PL_TMP/sugg.policy" --report "$PL_TMP/report" \
	-- "$HOLD" $SEED 16 > "$PL_TMP/out" 2> "$PL_TMP/err"
is "$?" 0 "profile exits 0"
sed 's/^/# /' "$PL_TMP/report"

shared=$(awk '$1 == "mmap" && $2 ~ /^profile_hold!profile_shared_data$/ { print $5 }' "$PL_TMP/report")
noise=$(awk '$1 == "mmap" && $2 ~ /^profile_hold!profile_private_noise$/ { print $6 }' "$PL_TMP/report")
ok "static function resolved and its origin reported (merged $shared)" test -n "$shared"
ok "shared origin merged something" test -n "$shared" -a "$shared" != 0
mb=$(echo "$shared" | sed -n 's/^\([0-9]*\)\..*M$/\1/p')
pl_ge "${mb:-0}" $((16 * N * 90 / 100)) "shared origin merged about $N x 16 MiB"
is "$noise" "inf!" "noise origin: nothing merged, flagged"
ok "per-process ksm_stat figures in the report" grep -q "merging_pages" "$PL_TMP/report"

ok "suggested policy passes ksmpreload check" "$KP" check "$PL_TMP/sugg.policy"
sed 's/^/# /' "$PL_TMP/sugg.policy"
ok "crypto skips come first" sh -c "grep -v '^#' '$PL_TMP/sugg.policy' | grep -E '^(skip|merge)' | head -1 | grep -q 'caller=libcrypto'"
ok "no function-level condition: said in a comment" grep -q "no function condition" "$PL_TMP/sugg.policy"

# yield of the suggested policy against whole-process merging, side by side
pl_policy proc "mode process
control no" > /dev/null
run_set() { # run_set POLICY -> sum of ksm_merging_pages after the plateau
	PL_PIDS=""
	pids=""
	for i in $(seq $N); do
		pl_start "$PL_TMP/h$i.out" env LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY="$1" \
			"$HOLD" $SEED 16
		pids="$pids $PL_LAST"
	done
	for i in $(seq $N); do pl_wait_ready "$PL_TMP/h$i.out" 10; done
	pl_probe plateau 12 $pids | awk '$1 == "sum" { print $2 }'
	pl_stop
}
sug=$(run_set "$PL_TMP/sugg.policy")
whole=$(run_set "$PL_TMP/proc.policy")
diag "suggested policy: $sug merging pages; whole process: $whole"
if sanitized; then
	skip 1 "ASan's shadow memory and allocator merge under whole-process merging, and no policy kind covers them"
else
	pl_ge $(( ${sug:-0} * 100 )) $(( ${whole:-1} * 97 )) "suggested policy keeps >= 97% of whole-process merging"
fi

# --json and --settle, one instance; usage errors
"$KP" profile --settle 2 --json -- "$HOLD" $SEED 4 > "$PL_TMP/j.json" 2> "$PL_TMP/j.err"
is "$?" 0 "profile --json --settle exits 0"
if command -v python3 > /dev/null; then
	ok "--json output parses, has origins, processes and the policy" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert any(o["function"] == "profile_shared_data" and o["kind"] == "mmap" for o in d["origins"])
keys = {"kind", "object", "function", "site", "regions", "advised", "rss", "merged", "cost", "productive"}
assert all(set(o) == keys for o in d["origins"]), [sorted(o) for o in d["origins"]]
assert d["processes"][0]["read"] and "mode      regions" in d["policy"]' "$PL_TMP/j.json"
else
	skip 1 "python3 not installed"
fi
"$KP" profile -n 0 -- true 2> /dev/null
is "$?" 2 "profile -n 0 is a usage error"
"$KP" profile --settle 1 -- /nonexistent/prog > /dev/null 2>&1
is "$?" 1 "profile of a command that cannot run exits 1"
done_testing
