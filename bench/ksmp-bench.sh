#!/bin/sh
# ksmp-bench - libksmpreload.so against whole-process merging and against no
# library, measured side by side in one run (issue 3 targets):
#   yield       pages saved (sum of ksm_merging_pages over 4 instances minus
#               the largest instance's share) with the policy vs with
#               PR_SET_MEMORY_MERGE, per workload; also scan cost
#               (ksm_rmap_items), time to plateau and ksmd CPU until then
#   vmas        /proc/PID/maps lines after 40,000 x (malloc(40K)+malloc(8K))
#   overhead    malloc/free 16 B-64 KiB (1 and 2 threads), mmap+munmap 64 KiB
#               not selected: time with / without the library (median of 5)
#   throughput  redis-benchmark and memslap against servers run with no
#               library, process mode and default.policy
# Appends to bench/results.md in the source tree (or the build tree when
# the source tree is read-only), as every other benchmark does: the file
# keeps the history of runs and its hand-written summary at the top.
# Needs root and KSM; runs under tests/ksm-hold.
set -u
B=${KSMP_BUILDDIR:?run through make bench}
S=${KSMP_SRCDIR:?run through make bench}
LIB="$B/preload/libksmpreload.so"
P="$B/tests/progs"
W="$B/bench/ksmp-watch"
MB="$B/bench/ksmp-mbench"
PY=/usr/bin/python3
N=4
REPS=${KSMP_BENCH_REPS:-3}	# runs per mode for the yield table (medians)

[ -f "$LIB" ] || { echo "ksmp-bench: $LIB not built"; exit 1; }
if [ "$(id -u)" -ne 0 ] || [ ! -w /sys/kernel/mm/ksm/run ]; then
	echo "ksmp-bench: needs root and KSM (/sys/kernel/mm/ksm/run); skipped"
	exit 0
fi
if [ -z "${KSMP_KSM_HELD:-}" ]; then
	# the same ksmd settings for every run below
	exec "$B/tests/ksm-hold" -p 2000 -s 10 -- /bin/sh "$0" "$@"
fi

T=$(mktemp -d /tmp/ksmp-bench.XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

OUT="$S/bench/results.md"
if ! touch "$OUT" 2>/dev/null; then mkdir -p "$B/bench"; OUT="$B/bench/results.md"; fi
R="$T/results.md"

printf 'mode process\n' > "$T/process.policy"
printf 'mode regions\nmerge heap,arena,chunk\nmerge mmap min=1M\n' > "$T/regions.policy"

say() { echo "$*"; echo "$*" >> "$R"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.3f", a / b }'; }
field() { echo "$1" | awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }'; }
stop_all() {
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	PIDS=""
	sleep 0.3
}
wait_file() { # wait_file FILE PATTERN SECONDS
	n=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		n=$((n + 1)); [ $n -gt $(($3 * 20)) ] && return 1; sleep 0.05
	done
}
# modeenv MODE POLICY-FOR-POLICY-MODE: env words for none/process/policy
modeenv() {
	case $1 in
	none) echo "KSMP_BENCH=none" ;;
	process) echo "LD_PRELOAD=$LIB KSMP_POLICY=$T/process.policy" ;;
	policy) echo "LD_PRELOAD=$LIB KSMP_POLICY=$2" ;;
	esac
}

SEED=1000
# run_alloc MODE SPEC: 4 ksmp-alloc instances, prints the ksmp-watch line
run_alloc() {
	SEED=$((SEED + 1))
	for i in $(seq $N); do
		env $(modeenv "$1" "$T/regions.policy") "$P/ksmp-alloc" -s $SEED "$2" > "$T/a$i" 2>&1 &
		PIDS="$PIDS $!"
	done
	for i in $(seq $N); do wait_file "$T/a$i" '^ready' 60; done
	"$W" 60 $PIDS
	stop_all
}
cat > "$T/work.py" <<'EOF'
import random, sys, time, json, decimal, email.parser, http.client, xml.dom.minidom
random.seed(int(sys.argv[1]))
blob = random.randbytes(16 << 20)
rows = [{"id": i, "name": "user%06d" % i, "tags": ["a", "b", str(i % 97)]} for i in range(60000)]
text = json.dumps(rows)
table = {r["name"]: r for r in rows}
print("ready", len(blob), len(text), flush=True)
time.sleep(600)
EOF
run_python() {
	SEED=$((SEED + 1))
	for i in $(seq $N); do
		env $(modeenv "$1" "${2:-$S/policy/default.policy}") "$PY" "$T/work.py" $SEED > "$T/p$i" 2>&1 &
		PIDS="$PIDS $!"
	done
	for i in $(seq $N); do wait_file "$T/p$i" '^ready' 60; done
	"$W" 60 $PIDS
	stop_all
}

: > "$R"
say "## make bench: libksmpreload.so against whole-process merging and no library"
say ""
say "date $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), nproc $(nproc), ksmd pages_to_scan 2000 sleep_millisecs 10 (tests/ksm-hold), $N instances per workload"
say ""
say "### Yield: pages saved with the policy vs whole-process merging (target >= 0.97)"
say ""
say "saved = sum of ksm_merging_pages over the $N instances minus one copy (the largest instance); medians of $REPS runs for process and policy. rmap = sum of ksm_rmap_items (pages ksmd scans). t99 = seconds until 99% of the plateau. ksmd = ksmd CPU ms until then (schedstat; stat utime+stime ticks in brackets)."
say ""
say "| workload | saved none | saved process | saved policy | yield ratio | rmap process | rmap policy | rmap ratio | t99 process | t99 policy | ksmd process | ksmd policy |"
say "|---|---|---|---|---|---|---|---|---|---|---|---|"
# runs MODE SPEC [POLICY]: REPS runs (1 for none), one ksmp-watch line each
runs() {
	n=$REPS; [ "$1" = none ] && n=1
	for r in $(seq $n); do
		if [ "$2" = python ]; then run_python "$1" ${3:-}; else run_alloc "$1" "$2"; fi
	done
}
# med LINES KEY: median over the lines of KEY (saved = sum - max)
med() {
	echo "$1" | awk -v k="$2" '{
		for (i = 1; i < NF; i++) f[$i] = $(i + 1)
		v[++n] = (k == "saved") ? f["sum"] - f["max"] : f[k] }
		END { if (!n) { print 0; exit }
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
		print v[int((n + 1) / 2)] }'
}
row() { # row LABEL NONE-LINES PROCESS-LINES POLICY-LINES
	s0=$(med "$2" saved); s1=$(med "$3" saved); s2=$(med "$4" saved)
	r1=$(med "$3" rmap); r2=$(med "$4" rmap)
	say "| $1 | ${2:+$s0} | $s1 | $s2 | $(ratio $s2 $s1) | $r1 | $r2 | $(ratio $r2 $r1) | $(med "$3" t99) | $(med "$4" t99) | $(med "$3" ksmd_ms) ($(med "$3" ksmd_ticks)) | $(med "$4" ksmd_ms) ($(med "$4" ksmd_ticks)) |"
}
for w in "one big allocation:malloc:32M" "many 4-64 KiB allocations:small:32M" \
	"4 threads, 4-64 KiB allocations:threads:32M" "direct mmap64:mmap64:32M" "python3 program:python"; do
	label=${w%%:*}; spec=${w#*:}
	if [ "$spec" = python ] && [ ! -x "$PY" ]; then
		say "| $label | python3 not installed | | | | | | | | | | |"; continue
	fi
	L_none=$(runs none "$spec"); L_process=$(runs process "$spec"); L_policy=$(runs policy "$spec")
	row "$label" "$L_none" "$L_process" "$L_policy"
done
# The same python3 workload under a regions policy (no controller needed)
# that merges pymalloc's arenas (small, pointer-rich objects) among the
# rest: what static rules give against the default's rules.
if [ -x "$PY" ]; then
	printf 'mode regions\nskip stack,file\nmerge mmap min=64K prot=rw\nmerge chunk\nmerge heap,arena\n' > "$T/pyvariant.policy"
	row "python3, variant policy that also merges pymalloc's arenas" "" "$L_process" "$(runs policy python "$T/pyvariant.policy")"
fi
say ""
say "Policies: process = \`mode process\`; policy = \`mode regions / merge heap,arena,chunk / merge mmap min=1M\` for the test program, policy/default.policy (the built-in default's rules; with no mergefs mounted nothing is pruned) for python3, redis and memcached. Scan-cost target (python3): rmap ratio <= 0.60 at yield >= 0.97. Time-to-plateau target: t99 policy <= t99 process."

say ""
say "### VMAs: 40,000 x (malloc(40 KiB) + malloc(8 KiB)) (target: within 32 of no library)"
say ""
say "| run | /proc/self/maps lines | difference | later 64 KiB mmap works |"
say "|---|---|---|---|"
base=$("$MB" vmas 40000)
b=$(field "$base" maps)
say "| no library | $b | 0 | $(field "$base" mmap_ok) |"
for m in "regions policy:$T/regions.policy" "shipped default policy:$S/policy/default.policy" "process mode:$T/process.policy"; do
	out=$(LD_PRELOAD="$LIB" KSMP_POLICY="${m#*:}" "$MB" vmas 40000)
	v=$(field "$out" maps)
	say "| ${m%%:*} | $v | $((v - b)) | $(field "$out" mmap_ok) |"
done

say ""
say "### Overhead: time with the library / without (target <= 1.05; median of 5 alternating runs)"
say ""
say "| benchmark | ns/op without | ns/op with | ratio |"
say "|---|---|---|---|"
for bm in "malloc/free 16 B-64 KiB, 1 thread:malloc 1 3000000" \
	"malloc/free 16 B-64 KiB, 2 threads:malloc 2 3000000" \
	"mmap+munmap 64 KiB (not selected):mmap 300000"; do
	args=${bm#*:}
	: > "$T/ov"
	for k in 1 2 3 4 5; do
		# alternate which of the pair runs first
		if [ $((k % 2)) -eq 1 ]; then
			a=$(field "$("$MB" $args)" ns_per_op)
			c=$(field "$(LD_PRELOAD="$LIB" KSMP_POLICY="$T/regions.policy" "$MB" $args)" ns_per_op)
		else
			c=$(field "$(LD_PRELOAD="$LIB" KSMP_POLICY="$T/regions.policy" "$MB" $args)" ns_per_op)
			a=$(field "$("$MB" $args)" ns_per_op)
		fi
		echo "$a $c" >> "$T/ov"
	done
	med() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
	a=$(awk '{ print $1 }' "$T/ov" | med); c=$(awk '{ print $2 }' "$T/ov" | med)
	rr=$(awk '{ print $2 / $1 }' "$T/ov" | med)
	say "| ${bm%%:*} | $a | $c | $(printf '%.3f' "$rr") |"
done

say ""
say "### Real servers: cost until the savings plateau, and throughput"
say ""
say "| server | mode | saved pages | t99 s | ksmd CPU ms (ticks) | throughput |"
say "|---|---|---|---|---|---|"
port=$((40000 + $$ % 1000 * 8))
if command -v redis-server > /dev/null && command -v redis-benchmark > /dev/null && [ -x "$PY" ]; then
	"$PY" - > "$T/load.resp" <<'EOF'
import random, sys
random.seed(99)
out = sys.stdout.buffer
for i in range(5000):
    k = b"key:%06d" % i
    v = random.randbytes(2000).hex().encode()
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
EOF
	for m in none process policy; do
		for i in $(seq $N); do
			port=$((port + 1))
			env $(modeenv $m "$S/policy/default.policy") redis-server --port $port \
				--bind 127.0.0.1 --save '' --appendonly no > "$T/r$i" 2>&1 &
			PIDS="$PIDS $!"
			n=0; until [ "$(redis-cli -p $port ping 2>/dev/null)" = PONG ] || [ $n -gt 200 ]; do sleep 0.05; n=$((n + 1)); done
			redis-cli -p $port --pipe < "$T/load.resp" > /dev/null 2>&1
		done
		line=$("$W" 60 $PIDS)
		rps=$(for k in 1 2 3; do redis-benchmark -p $port -q -n 300000 -P 16 -c 8 -d 256 -t set,get 2>/dev/null |
			tr '\r' '\n' | awk '/requests per second/ { print $1, $2 }'; done |
			awk '{ if ($2 > b[$1]) b[$1] = $2 } END { printf "SET: %.0f rps; GET: %.0f rps (best of 3)", b["SET:"], b["GET:"] }')
		say "| redis-server | $m | $(( $(field "$line" sum) - $(field "$line" max) )) | $(field "$line" t99) | $(field "$line" ksmd_ms) ($(field "$line" ksmd_ticks)) | $rps |"
		stop_all
	done
else
	say "| redis-server | not installed (redis-server, redis-tools) | | | | |"
fi
if command -v memcached > /dev/null && command -v memcslap > /dev/null; then
	for m in none process policy; do
		port=$((port + 1))
		env $(modeenv $m "$S/policy/default.policy") memcached -u root -l 127.0.0.1 \
			-p $port -U 0 -m 256 > "$T/m" 2>&1 &
		PIDS="$PIDS $!"
		sleep 0.3
		res=""
		for t in set get; do
			s=$(for k in 1 2 3; do memcslap -s 127.0.0.1:$port -c 2 -e 40000 -t $t 2>/dev/null |
				awk -v t=$t '$1 == "Time" && $3 == t { print $4 / $(NF - 1) }'; done |
				awk -v t=$t '$1 > b { b = $1 } END { printf "%s %.0f ops/s; ", t, b }')
			res="$res$s"
		done
		res="$res(best of 3)"
		say "| memcached (memslap) | $m | | | | $res |"
		stop_all
	done
else
	say "| memcached | not installed (memcached, libmemcached-tools) | | | | |"
fi
say ""
{ echo; cat "$R"; } >> "$OUT"
echo "results appended to $OUT"
