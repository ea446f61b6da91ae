#!/usr/bin/env bash
# demo.sh - the main job, end to end, on a fresh machine (as root):
# installs dependencies, builds, mounts mergefs, runs real programs under
# libksmpreload.so (4 python3 workers, 2 redis-servers) and shows what KSM
# saved for each, then unmerges one worker through mergefs and shows its
# savings go away while the others keep theirs.
#
# ksmd is made fast for the demo by tests/ksm-hold, which puts the global
# KSM knobs back as they were when the demo ends.
set -euo pipefail
top=$(cd "$(dirname "$0")" && pwd)
cd "$top"
[ "$(id -u)" -eq 0 ] || { echo "demo.sh: run as root (KSM knobs, mergefs)" >&2; exit 1; }

# Build in _build, or where the tree was configured in-tree (./configure
# at the top: then an out-of-tree build cannot be configured).
B=$top/_build
[ -f "$top/config.status" ] && B=$top
if [ -z "${KSMP_KSM_HELD:-}" ]; then
	sh tests/install-deps.sh
	[ -x configure ] || ./autogen.sh >/dev/null 2>&1
	mkdir -p "$B"
	(cd "$B" && { [ -f Makefile ] || "$top/configure" >/dev/null; } &&
		make -j2 >/dev/null && make tests/ksm-hold >/dev/null)
	exec "$B/tests/ksm-hold" -- "$0" "$@"
fi

# The source tree's policy directory (nothing is installed).
export KSMP_POLICY_DIR=$top/policy
work=$(mktemp -d /tmp/ksmp-demo.XXXXXX)
mnt=$work/mnt
mkdir "$mnt"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	fusermount3 -u "$mnt" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

"$B/mergefs/mergefs" "$mnt"
echo "mergefs mounted on $mnt"

# Four python3 workers doing the same work: the same 64 MiB data set
# (a seeded byte string, parsed records) held in memory.
cat > "$work/worker.py" <<'PY'
import random, sys, time
rng = random.Random(20261122)
blob = rng.randbytes(48 << 20)                 # big buffer
records = [("user%06d" % i, rng.random(), "x" * 200) for i in range(40000)]
print("ready", flush=True)
time.sleep(3600)
PY
for i in 1 2 3 4; do
	"$B/cli/ksmpreload" -- python3 "$work/worker.py" >"$work/py$i.out" &
	pids+=($!)
done
# Two redis-servers holding the same keys.
for port in 16391 16392; do
	"$B/cli/ksmpreload" -- redis-server --port "$port" --bind 127.0.0.1 \
		--save '' --appendonly no --enable-debug-command yes --dir "$work" \
		--logfile "$work/redis$port.log" &
	pids+=($!)
done
for i in 1 2 3 4; do
	for _ in $(seq 100); do grep -q ready "$work/py$i.out" 2>/dev/null && break; sleep 0.2; done
done
for port in 16391 16392; do
	for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.2; done
	redis-cli -p "$port" debug populate 300000 key 128 >/dev/null
done

wait_merged() { # until the summed ksm_merging_pages stops growing
	local last=-1 stable=0 sum p v
	for _ in $(seq 120); do
		sum=0
		for p in "${pids[@]}"; do
			v=$(awk '$1=="ksm_merging_pages"{print $2}' "/proc/$p/ksm_stat" 2>/dev/null || echo 0)
			sum=$((sum + ${v:-0}))
		done
		if [ "$sum" -eq "$last" ] && [ "$sum" -gt 0 ]; then
			stable=$((stable + 1)); [ $stable -ge 3 ] && return 0
		else stable=0; fi
		last=$sum
		sleep 0.5
	done
}

table() {
	# MERGED_MiB: the process's pages on KSM pages, a shared page counted by
	# every sharer (what unmerging it needs again); SAVED_MiB: its share of
	# the host's saving, a shared page's saving divided among its sharers
	# (these add up to the host's saved_bytes above).
	printf '%-8s %-14s %-8s %-6s %12s %12s %10s %10s\n' PID PROGRAM ENGINE MERGE ADVISED_MiB MERGING_PG MERGED_MiB SAVED_MiB
	for p in "${pids[@]}"; do
		f=$mnt/$p/stats
		[ -r "$f" ] || continue
		awk -v pid="$p" -v prog="$(cat /proc/$p/comm)" '
			{ v[$1] = $2 }
			END { printf "%-8s %-14s %-8s %-6s %12.1f %12d %10.1f %10.1f\n", pid, prog, v["engine"],
				v["merge"] == "" ? v["merge_state"] : v["merge"],
				v["advised_bytes"] / 1048576, v["ksm_merging_pages"],
				v["merged_bytes"] / 1048576, v["saved_bytes"] / 1048576 }' "$f"
	done
}

echo "waiting for ksmd to merge (pages_to_scan 5000, sleep 5 ms) ..."
wait_merged
echo
echo "== $mnt/stats (host-wide)"
grep -E '^(pages_shared|pages_sharing|saved_bytes|sharing_ratio|processes_library) ' "$mnt/stats"
echo
echo "== per process, from $mnt/PID/stats"
table
echo
echo "== echo 0 > $mnt/${pids[0]}/merge   (unmerge the first python3 worker)"
echo 0 > "$mnt/${pids[0]}/merge"
echo "merge now reads: $(cat "$mnt/${pids[0]}/merge")"
wait_merged
echo
table
echo
echo "== echo 1 > $mnt/${pids[0]}/merge   (merge it again)"
echo 1 > "$mnt/${pids[0]}/merge"
wait_merged
table
