#!/bin/sh
# attach_bench.sh - how long `ksmpreload attach` keeps its target stopped
# (from PTRACE_INTERRUPT to the detach, as the command reports it):
# process mode (one prctl), and regions mode as a function of the number
# of ranges advised (one madvise each). Medians over RUNS attach+detach
# pairs on a target blocked in read(); the target must stay well under
# 1 ms in process mode (reported, not enforced); and the CPU a pass of
# attach --watch costs with the processes present, and with 1,000 more.
# Needs root (ptrace of another process).
set -u
: "${KSMP_BUILDDIR:?}" "${KSMP_SRCDIR:?}"
K="$KSMP_BUILDDIR/cli/ksmpreload"
TGT="$KSMP_BUILDDIR/tests/attach/attach_target"
RUNS=${RUNS:-41}
[ "$(id -u)" -eq 0 ] || { echo "attach_bench: needs root, skipped"; exit 0; }
[ -x "$TGT" ] || { echo "attach_bench: attach_target not built (make check)"; exit 1; }
T=$(mktemp -d /tmp/ksmp-attach-bench.XXXXXX)
KSMP_ATTACH_DIR="$T/rec"; export KSMP_ATTACH_DIR
PIDS=""
trap 'for p in $PIDS; do kill -9 $p 2>/dev/null; done; rm -rf "$T"' EXIT
printf 'mode regions\nmerge mmap min=1M max=1M prot=rw\n' > "$T/r.policy"

start() { # start ARGS...: a target blocked in read(); pid in TP
	mkfifo "$T/in.$#.$1.${2:-}"
	"$TGT" "$@" < "$T/in.$#.$1.${2:-}" > "$T/out" 2>&1 &
	TP=$!
	sleep 1000 > "$T/in.$#.$1.${2:-}" &
	PIDS="$PIDS $TP $!"
	w=0; until grep -q ready "$T/out" 2>/dev/null || [ $w -gt 200 ]; do sleep 0.05; w=$((w+1)); done
}

# stop_us COUNT NOSTEP ARGS...: COUNT attach (+ detach) pairs, one stop_us
# per line; NOSTEP=1 forces the syscall-stop way
stop_us() {
	cnt=$1 nostep=$2; shift 2
	j=0
	while [ $j -lt $cnt ]; do
		if [ "$nostep" = 1 ]; then
			KSMP_TEST_ATTACH_NOSTEP=1 "$K" attach --json "$@" $TP
		else
			"$K" attach --json "$@" $TP
		fi | python3 -c '
import json,sys; d=json.load(sys.stdin); print(d[0]["stop_us"] if d[0]["ok"] else "fail")'
		"$K" detach $TP > /dev/null
		j=$((j + 1))
	done
}
median() { sort -n | awk '{v[NR]=$1} END {print (NR ? v[int((NR+1)/2)] : "n/a")}'; }

echo "attach stop time (us), median of $RUNS, target blocked in read()"
start read
# side by side, interleaved: calls single-stepped (the default) and the
# syscall-stop way (used for targets that block or ignore SIGTRAP)
: > "$T/step"; : > "$T/nostep"
i=0
while [ $i -lt $RUNS ]; do
	stop_us 1 0 --mode process >> "$T/step"
	stop_us 1 1 --mode process >> "$T/nostep"
	i=$((i + 1))
done
pm=$(median < "$T/step")
pn=$(median < "$T/nostep")
printf '%-28s %8s us\n' "process mode (1 prctl)" "$pm"
printf '%-28s %8s us  (ratio %s)\n' "  the same by syscall stops" "$pn" \
	"$(awk -v a="$pn" -v b="$pm" 'BEGIN{printf "%.2f", a/b}')"
for n in 1 10 100 1000; do
	start ranges $n
	rm=$(stop_us $RUNS 0 -p "$T/r.policy" | median)
	printf '%-28s %8s us  (%s per range)\n' "regions mode, $n ranges" "$rm" \
		"$(awk -v a="$rm" -v b="$pm" -v n=$n 'BEGIN{printf "%.1f us", (a-b)/n}')"
done
# attach --watch: CPU per pass over /proc, as found and with 1,000 more
# processes (sleep); no policy names them, so a pass only lists /proc
watch_cost() { # watch_cost SECONDS: ms of CPU per pass at 100 ms intervals
	mkdir -p "$T/wpol"
	KSMP_POLICY_DIR="$T/wpol" "$K" attach --watch --interval 100 2> /dev/null &
	W=$!
	sleep 1	# the first pass looks at every process once
	t0=$(awk '{print $14 + $15}' /proc/$W/stat)
	sleep "$1"
	t1=$(awk '{print $14 + $15}' /proc/$W/stat)
	kill $W; wait $W 2>/dev/null
	awk -v a="$t0" -v b="$t1" -v s="$1" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.2f", (b - a) * 1000 / hz / (s * 10) }'
}
np=$(ls -d /proc/[0-9]* 2>/dev/null | wc -l)
printf '%-28s %8s ms CPU per pass (%s processes)\n' "attach --watch" "$(watch_cost 5)" "$np"
k=0; while [ $k -lt 1000 ]; do sleep 120 & PIDS="$PIDS $!"; k=$((k + 1)); done
np=$(ls -d /proc/[0-9]* 2>/dev/null | wc -l)
printf '%-28s %8s ms CPU per pass (%s processes)\n' "attach --watch" "$(watch_cost 5)" "$np"
echo "nproc $(nproc), load $(cut -d' ' -f1 /proc/loadavg)"
awk -v p="$pm" 'BEGIN { exit !(p < 1000) }' ||
	echo "note: process mode median >= 1 ms (a loaded machine: each stop waits for a CPU)"
