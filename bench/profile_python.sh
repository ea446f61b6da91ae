#!/bin/sh
# profile_python.sh - does a profiled policy keep the savings? Profiles a
# python3 workload (4 instances holding the same parsed data) with
# `ksmpreload profile -n 4`, then runs the same workload 4 times under the
# suggested policy and 4 times under whole-process merging (mode process),
# side by side, and prints per mode the sum of ksm_merging_pages and of
# ksm_rmap_items after the plateau:
#   yield ratio  = merging pages (suggested) / merging pages (process)  target >= 0.97
#   rmap ratio   = rmap_items (suggested) / rmap_items (process)        lower is better
# Needs root and KSM; runs under tests/ksm-hold. Exits 1 below the target.
set -u
B=${KSMP_BUILDDIR:?run through make bench}
S=${KSMP_SRCDIR:?run through make bench}
if [ "$(id -u)" -ne 0 ] || [ ! -w /sys/kernel/mm/ksm/run ]; then
	echo "profile_python: needs root and KSM (/sys/kernel/mm/ksm/run); skipped"
	exit 0
fi
PY=$(command -v python3 || true)
[ -n "$PY" ] || { echo "profile_python: python3 not installed; skipped"; exit 0; }
if [ -z "${KSMP_KSM_HELD:-}" ]; then
	exec "$B/tests/ksm-hold" -- /bin/sh "$0" "$@"
fi
KP="$B/cli/ksmpreload"
LIB="$B/preload/libksmpreload.so"
PROBE="$B/tests/progs/ksmp-probe"
N=4
T=$(mktemp -d /tmp/ksmp-bench-profile.XXXXXX)
pids=""
cleanup() { for p in $pids; do kill -9 "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 1' INT TERM
cat > "$T/work.py" <<'PYEOF'
import random, time
random.seed(61813)
blob = random.randbytes(24 << 20)
words = ["%07d:%s" % (i, "pqrstuvw" * 8) for i in range(100000)]
table = {w: len(w) for w in words[:50000]}
nums = [float(i) * 1.5 for i in range(200000)]
print("ready", flush=True)
time.sleep(300)
PYEOF
printf 'mode process\ncontrol no\n' > "$T/process.policy"

echo "profile: $KP profile -n $N -- python3 work.py"
"$KP" profile -n $N -o "$T/suggested.policy" -- "$PY" "$T/work.py" > "$T/report" 2>/dev/null ||
	{ echo "profile_python: profile failed"; cat "$T/report"; exit 1; }
grep -v '^ready' "$T/report"
"$KP" check "$T/suggested.policy" > /dev/null || { echo "profile_python: suggested policy rejected"; exit 1; }
echo "suggested policy rules:"
grep -E '^(merge|skip) ' "$T/suggested.policy" | grep -v 'caller=libcrypto\|caller=libnss3' | sed 's/^/    /'

run() { # run POLICY -> "merging rmap"
	pids=""
	i=0
	while [ $i -lt $N ]; do
		LD_PRELOAD="$LIB" KSMP_POLICY="$1" "$PY" "$T/work.py" > "$T/o$i" 2>/dev/null &
		pids="$pids $!"
		i=$((i + 1))
	done
	i=0
	while [ $i -lt $N ]; do
		n=0
		while ! grep -q ready "$T/o$i" 2>/dev/null && [ $n -lt 600 ]; do sleep 0.05; n=$((n + 1)); done
		i=$((i + 1))
	done
	m=$("$PROBE" plateau 25 $pids | awk '$1 == "sum" { print $2 }')
	r=0
	for p in $pids; do
		v=$(awk '$1 == "ksm_rmap_items" { print $2 }' /proc/$p/ksm_stat)
		r=$((r + ${v:-0}))
	done
	for p in $pids; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	pids=""
	echo "$m $r"
}
set -- $(run "$T/suggested.policy"); sm=$1; sr=$2
set -- $(run "$T/process.policy"); pm=$1; pr=$2
echo "suggested policy: merging_pages $sm rmap_items $sr"
echo "whole process:    merging_pages $pm rmap_items $pr"
awk -v sm="$sm" -v pm="$pm" -v sr="$sr" -v pr="$pr" 'BEGIN {
	y = pm ? sm / pm : 0; r = pr ? sr / pr : 0;
	printf "yield ratio %.3f (target >= 0.97), rmap_items ratio %.3f (lower is better)\n", y, r;
	exit !(y >= 0.97) }'
