#!/bin/sh
# estimate_bench - time `ksmpreload estimate` over ~4 GiB held by 4
# processes (tests/progs/estimate_hold: per process 512 MiB of pages equal
# across the processes, 128 MiB of zero pages, 384 MiB of unique pages).
# Target: under 60 s on 2 cores. Also checks the figures it must find.
set -u
B=${KSMP_BUILDDIR:-$(cd "$(dirname "$0")/.." && pwd)}
hold="$B/tests/progs/estimate_hold"
ksmp="$B/cli/ksmpreload"
N=4 D=131072 Z=32768 U=98304	# pages of 4 KiB: 1 GiB per process
tmp=$(mktemp -d) || exit 1
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 1' INT TERM
avail=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
if [ "${avail:-0}" -lt 6144 ]; then
	echo "estimate_bench: skipped, needs 6 GiB of available memory (${avail} MiB)"
	exit 0
fi
i=0
while [ $i -lt $N ]; do
	i=$((i + 1))
	"$hold" -s 0x62656e6368 -M $D,$Z,$U -t 600 >"$tmp/h$i" &
	pids="$pids $!"
done
i=0
while [ $i -lt $N ]; do
	i=$((i + 1)); n=0
	until grep -q ready "$tmp/h$i" 2>/dev/null; do
		n=$((n + 1)); [ $n -lt 1200 ] || { echo "estimate_bench: holders not ready"; exit 1; }
		sleep 0.1
	done
done
t0=$(date +%s.%N)
"$ksmp" estimate --json --no-progress $pids >"$tmp/out.json" || exit 1
t1=$(date +%s.%N)
python3 - "$tmp/out.json" "$t0" "$t1" $N $D $Z $U <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t0, t1 = float(sys.argv[2]), float(sys.argv[3])
n, dup, zero, uniq = (int(x) for x in sys.argv[4:8])
t = d["total"]
secs = t1 - t0
gib = t["pages"] * d["page_size"] / 2**30
print("estimate_bench: %d processes, %.2f GiB of private pages read in %.2f s "
      "(%.0f MiB/s); target < 60 s: %s" % (n, gib, secs, gib * 1024 / secs,
                                           "met" if secs < 60 else "MISSED"))
print("estimate_bench: saved %d pages (%.0f MiB), zero %d pages (%.0f MiB)" % (
    t["saved_pages"], t["saved_bytes"] / 2**20, t["zero_pages"], t["zero_bytes"] / 2**20))
ok = t["saved_pages"] >= (n - 1) * dup and t["zero_pages"] >= n * zero \
    and t["pages"] >= n * (dup + zero + uniq)
print("estimate_bench: expected at least %d saved and %d zero pages: %s" % (
    (n - 1) * dup, n * zero, "yes" if ok else "NO"))
sys.exit(0 if ok else 1)
PY
