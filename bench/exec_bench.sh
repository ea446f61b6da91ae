#!/bin/sh
# exec_bench.sh - what the library costs a program that merely starts
# (LD_PRELOAD is inherited by every child), and its malloc/free fast path,
# measured side by side in one run (issue 13 targets):
#   true     a shell loop of 200 x /bin/true (no policy selects it: the
#            built-in default runs), with / without the library; the
#            shell itself runs under the library too, as in real use
#   python3  20 x `python3 -c pass` (the built-in default: heap, arena,
#            chunk, stack, data and mmap merging, crypto heap on)
#   malloc   bench/ksmp-mbench malloc 1 (random 16 B - 64 KiB) under
#            default.policy (the crypto-caller check is on every call)
# Each round runs both sides back to back, alternating which goes first;
# the ratio printed is the median of the per-round ratios. Also shown:
# an unrelated tiny preloaded library (tests/progs/libksmpcaller.so), the
# floor that any LD_PRELOAD costs. Needs no root and no KSM.
# The policy directory is indexed first, as an install does (`ksmpreload
# index`, ksmpreload.policy(5)); EXEC_BENCH_INDEX=0 removes its index
# instead (what a library without the index, or an install without it,
# costs).
# EXEC_BENCH_ROUNDS (default 9), EXEC_BENCH_LIB (another build of the
# library, to compare builds), EXEC_BENCH_BEFORE (a second build measured
# in the same rounds, its ratios in two more columns: before and after
# side by side in one run).
# First, exec by exec (bench/ksmp-spawn: posix_spawn, every variant once
# per round in rotating order, EXEC_BENCH_SPAWN_ROUNDS rounds, default
# 2000 for /bin/true, a tenth of that for python3): median us per exec
# and median ratio to none for the tiny preload, EXEC_BENCH_BEFORE and
# the library. The shell loops below time whole loops and, on a busy
# machine, move by 0.1 between runs; these move by about 0.01.
# Targets: true <= 1.10, python3 <= 1.05, malloc <= 1.05.
set -u
B=${KSMP_BUILDDIR:?run through make bench}
S=${KSMP_SRCDIR:?run through make bench}
LIB=${EXEC_BENCH_LIB:-$B/preload/libksmpreload.so}
BEFORE=${EXEC_BENCH_BEFORE:-}
OTHER="$B/tests/progs/libksmpcaller.so"
MB="$B/bench/ksmp-mbench"
SPAWN="$B/bench/ksmp-spawn"
SPAWN_ROUNDS=${EXEC_BENCH_SPAWN_ROUNDS:-2000}
PY=/usr/bin/python3
ROUNDS=${EXEC_BENCH_ROUNDS:-9}
DIR="$S/policy"

[ -f "$LIB" ] || { echo "exec_bench: $LIB not built"; exit 1; }
[ -z "$BEFORE" ] || [ -f "$BEFORE" ] || { echo "exec_bench: $BEFORE not found"; exit 1; }

now_us() { echo $(($(date +%s%N) / 1000)); }

# run_us ENV... -- CMD...: wall time of CMD in microseconds
run_us() {
	t0=$(now_us)
	env "$@" > /dev/null 2>&1
	t1=$(now_us)
	echo $((t1 - t0))
}

med() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# before_us CMD...: the same under EXEC_BENCH_BEFORE (0 when unset)
before_us() {
	if [ -n "$BEFORE" ]; then
		run_us LD_PRELOAD="$BEFORE" KSMP_POLICY_DIR="$DIR" "$@"
	else
		echo 0
	fi
}

# bench NAME CMD: rounds of none / library / other preload (/ before)
bench() {
	name=$1; shift
	: > "$T/r"
	k=0
	while [ $k -lt "$ROUNDS" ]; do
		k=$((k + 1))
		if [ $((k % 2)) -eq 1 ]; then
			a=$(run_us -u LD_PRELOAD "$@")
			l=$(run_us LD_PRELOAD="$LIB" KSMP_POLICY_DIR="$DIR" "$@")
			o=$(run_us LD_PRELOAD="$OTHER" "$@")
			b=$(before_us "$@")
		else
			b=$(before_us "$@")
			o=$(run_us LD_PRELOAD="$OTHER" "$@")
			l=$(run_us LD_PRELOAD="$LIB" KSMP_POLICY_DIR="$DIR" "$@")
			a=$(run_us -u LD_PRELOAD "$@")
		fi
		echo "$a $l $o $b" >> "$T/r"
	done
	a=$(awk '{ print $1 }' "$T/r" | med)
	l=$(awk '{ print $2 }' "$T/r" | med)
	rl=$(awk '{ print $2 / $1 }' "$T/r" | med)
	ro=$(awk '{ print $3 / $1 }' "$T/r" | med)
	printf '| %s | %.1f | %.1f | %.3f | %.3f |' "$name" \
		"$(echo "$a" | awk '{ print $1 / 1000 }')" \
		"$(echo "$l" | awk '{ print $1 / 1000 }')" "$rl" "$ro"
	[ -z "$BEFORE" ] || printf ' %.1f | %.3f |' \
		"$(awk '{ print $4 }' "$T/r" | med | awk '{ print $1 / 1000 }')" \
		"$(awk '{ print $4 / $1 }' "$T/r" | med)"
	echo
}

if [ "${EXEC_BENCH_INDEX:-1}" = 0 ]; then
	"$B/cli/ksmpreload" index --remove "$DIR"
	INDEXED="no index"
elif "$B/cli/ksmpreload" index "$DIR"; then
	INDEXED="indexed"
else
	INDEXED="no index (ksmpreload index failed)"
fi

T=$(mktemp -d /tmp/ksmp-exec-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT INT TERM

echo "exec_bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), nproc $(nproc), $ROUNDS rounds, policy directory $INDEXED"
[ -n "$BEFORE" ] && echo "before: $BEFORE"
# spawn ROUNDS PROGRAM...: exec by exec, every variant in the same rounds
spawn() {
	r=$1; shift
	if [ -n "$BEFORE" ]; then
		"$SPAWN" -r "$r" tiny="$OTHER" -e KSMP_POLICY_DIR="$DIR" \
			before="$BEFORE" library="$LIB" -- "$@"
	else
		"$SPAWN" -r "$r" tiny="$OTHER" -e KSMP_POLICY_DIR="$DIR" \
			library="$LIB" -- "$@"
	fi || echo "exec_bench: ksmp-spawn $* failed"
	echo
}
spawn "$SPAWN_ROUNDS" /bin/true
[ ! -x "$PY" ] || spawn $((SPAWN_ROUNDS / 10 + 1)) "$PY" -c pass

if [ -n "$BEFORE" ]; then
	echo "| workload | ms without | ms with library | ratio library | ratio other preload | ms before | ratio before |"
	echo "|---|---|---|---|---|---|---|"
else
	echo "| workload | ms without | ms with library | ratio library | ratio other preload |"
	echo "|---|---|---|---|---|"
fi
bench "200 x /bin/true (target <= 1.10)" sh -c "i=0; while [ \$i -lt 200 ]; do /bin/true; i=\$((i + 1)); done"
if [ -x "$PY" ]; then
	bench "20 x python3 -c pass (target <= 1.05)" sh -c "i=0; while [ \$i -lt 20 ]; do $PY -c pass; i=\$((i + 1)); done"
else
	echo "| python3 -c pass | skipped: $PY not installed | | | |"
fi

# malloc/free: ns per operation as the program reports it
: > "$T/m"
k=0
while [ $k -lt "$ROUNDS" ]; do
	k=$((k + 1))
	a=$("$MB" malloc 1 2000000 | awk '{ print $2 }')
	l=$(LD_PRELOAD="$LIB" KSMP_POLICY="$DIR/default.policy" "$MB" malloc 1 2000000 | awk '{ print $2 }')
	b=0
	[ -z "$BEFORE" ] ||
		b=$(LD_PRELOAD="$BEFORE" KSMP_POLICY="$DIR/default.policy" "$MB" malloc 1 2000000 | awk '{ print $2 }')
	echo "$a $l $b" >> "$T/m"
done
printf '| malloc/free 16 B-64 KiB, default.policy, ns/op (target <= 1.05) | %s | %s | %.3f | |' \
	"$(awk '{ print $1 }' "$T/m" | med)" "$(awk '{ print $2 }' "$T/m" | med)" \
	"$(awk '{ print $2 / $1 }' "$T/m" | med)"
[ -z "$BEFORE" ] || printf ' %s | %.3f |' "$(awk '{ print $3 }' "$T/m" | med)" \
	"$(awk '{ print $3 / $1 }' "$T/m" | med)"
echo
