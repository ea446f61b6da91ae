#!/bin/sh
# bench/real/run.sh - `make bench-real`: real programs, 4 instances each
# holding the same deterministic data, under four variants side by side:
#   none     no merging
#   process  whole-process merging: prctl(PR_SET_MEMORY_MERGE, 1) and exec
#            (bench/real/ksmp-prctl-exec; what systemd's MemoryKSM= does)
#   zero     libksmpreload.so with an empty policy directory: the built-in
#            default (zero-config)
#   shipped  libksmpreload.so with the shipped policy directory, for the
#            programs one of policy/*.policy names
# For each: physical saving (pages mapped - distinct PFNs over the present
# anonymous pages of the 4 instances, bench/real/ksmp-pagestat), Σ
# ksm_rmap_items at the plateau, ksmd CPU until the plateau, time to the
# plateau (bench/real/ksmp-plateau), throughput where the program has one;
# per program the ideal (`ksmpreload estimate`) and the 2 MiB / 64 KiB /
# per-VMA limits read with whole-process merging at its plateau.
# Every variant runs under tests/ksm-hold (pages_to_scan 2000, sleep 10 ms,
# smart_scan on; the knobs are restored after each variant).
#
# Environment: BENCH_PROGRAMS=python,node,...  a subset (default: all)
#              BENCH_QUICK=1  less data, shorter caps (a smoke run)
#              BENCH_RECORDS, BENCH_CAP, BENCH_STABLE, BENCH_MIN  override
#                  the sizes (BENCH_MIN: no plateau before so many s)
#              BENCH_HOLD=run  one tests/ksm-hold for the whole run (default
#                  one per program, which lets other KSM users in between)
#              BENCH_CONTROLLER=none  no mergefs beside the library variants
#              BENCH_AUTO=1  also the variant auto: the library with a policy
#                  of just "mode auto" (mergefs's controller prunes)
#              BENCH_VARIANTS=process,zero  only these of the variants
#              BENCH_SMAPS=DIR  keep each instance's /proc/PID/smaps at the
#                  plateau as DIR/PROG.VARIANT.N.smaps
#              BENCH_TRACE=DIR  sample every 100 ms, from the launch of
#                  the instances until the plateau (or the hold's end),
#                  Σ merging, Σ rmap, ksmd's and the controller's CPU
#                  ticks, full_scans and the controller's prunes and
#                  probes into DIR/PROG.VARIANT.trace (ksmp-plateau -T);
#                  DIR/PROG.VARIANT.marks: ms of launch, ready, plateau
#              BENCH_HOLDFOR=600  after the plateau keep the instances
#                  running 600 s, sampling the saving every BENCH_HOLDEVERY
#                  s (10): time-weighted mean, min, max over the window, and
#                  the churn (the controller's prunes and probes per chunk,
#                  read from mergefs's PID/stats); one ksm-hold per variant
#              BENCH_ATTACH=1  also the variants attach (started without the
#                  library, then `ksmpreload attach --mode process` once
#                  all are ready) and attach-shipped (the same with
#                  --mode regions and the shipped policy, where one names
#                  the program)
set -u
B=${KSMP_BUILDDIR:?run through make bench-real}
S=${KSMP_SRCDIR:?run through make bench-real}
A="$S/bench/real/apps"
BR="$B/bench/real"
LIB="$B/preload/libksmpreload.so"
KSMP="$B/cli/ksmpreload"
[ -x "$KSMP" ] || KSMP="$B/preload/ksmpreload"
PY=/usr/bin/python3
N=4
ALL="python node php ruby perl redis memcached sqlite3 jvm-g1 jvm-parallel changing-data"
TUNED="python node sqlite3 jvm-g1 changing-data"
HELDOUT="php ruby perl redis memcached jvm-parallel"
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	RECORDS=${BENCH_RECORDS:-3000} CAP=${BENCH_CAP:-20} STABLE=${BENCH_STABLE:-3}
	MIN=${BENCH_MIN:-10}
else
	RECORDS=${BENCH_RECORDS:-10000} CAP=${BENCH_CAP:-60} STABLE=${BENCH_STABLE:-5}
	MIN=${BENCH_MIN:-30}
fi
unset KSMP_POLICY KSMP_POLICY_DIR KSMP_STRICT KSMP_LOG
# Run from a copy, so that editing the source tree meanwhile cannot change
# the script under a running shell.
if [ -z "${BENCH_SELF:-}" ]; then
	BENCH_SELF=$(mktemp /tmp/ksmp-bench-real-run.XXXXXX) || exit 1
	cp "$0" "$BENCH_SELF" || exit 1
	export BENCH_SELF
	/bin/sh "$BENCH_SELF" "$@"
	rc=$?
	rm -f "$BENCH_SELF"
	exit $rc
fi

# ---------------------------------------------------------------- one program
# run.sh program PROG VARIANT...: run under ksm-hold by the driver below
# (one hold per program, so other users of KSM get their turn between
# programs), with T (the run's directory) exported; prints one
# "PROG VARIANT key value..." line per variant.
PIDS=""
stop_all() {
	for p in $PIDS; do kill -TERM "-$p" 2>/dev/null; done
	sleep 0.5
	for p in $PIDS; do kill -KILL "-$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	PIDS=""
}
prefix() { # the words that put a command under VARIANT
	case $1 in
	none) ;;
	process) echo "$BR/ksmp-prctl-exec" ;;
	zero) echo "env LD_PRELOAD=$LIB KSMP_POLICY_DIR=$T/empty-policy-dir" ;;
	shipped) echo "env LD_PRELOAD=$LIB KSMP_POLICY_DIR=$S/policy" ;;
	auto) echo "env LD_PRELOAD=$LIB KSMP_POLICY=$T/auto.policy KSMP_POLICY_DIR=$T/empty-policy-dir" ;;
	esac
}
wait_for() { # wait_for FILE PATTERN SECONDS PID
	n=0
	until grep -q "$2" "$1" 2>/dev/null; do
		kill -0 "$4" 2>/dev/null || { echo "bench-real: $4 died: $(tail -3 "$1")" >&2; return 1; }
		n=$((n + 1)); [ $n -le $(($3 * 10)) ] || { echo "bench-real: $1 not ready" >&2; return 1; }
		sleep 0.1
	done
}
port_of() { echo $((20000 + ($$ % 2000) * 8 + $1)); }
# start PROG VARIANT I: starts instance I in its own session; sets pid
start() {
	pre=$(prefix "$2") out="$T/out.$1.$3" d="$T/data"
	case $1 in
	python) setsid $pre "$PY" "$A/app.py" "$d" > "$out" 2>&1 & ;;
	changing-data) setsid $pre "$PY" "$A/app.py" "$d" $((RECORDS / 20)) > "$out" 2>&1 & ;;
	node) setsid $pre /usr/bin/node "$A/app.js" "$d" > "$out" 2>&1 & ;;
	php) setsid $pre /usr/bin/php -d memory_limit=-1 "$A/app.php" "$d" > "$out" 2>&1 & ;;
	ruby) setsid $pre /usr/bin/ruby "$A/app.rb" "$d" > "$out" 2>&1 & ;;
	perl) setsid $pre /usr/bin/perl "$A/app.pl" "$d" > "$out" 2>&1 & ;;
	jvm-g1) setsid $pre /usr/bin/java -XX:+UseG1GC -Xms64m -Xmx1g -cp "$T/java" App "$d" > "$out" 2>&1 & ;;
	jvm-parallel) setsid $pre /usr/bin/java -XX:+UseParallelGC -Xms64m -Xmx1g -cp "$T/java" App "$d" > "$out" 2>&1 & ;;
	sqlite3) (cd "$d" && exec setsid $pre /usr/bin/sqlite3 -batch -init "$A/sqlite.sql" :memory: 0<>"$T/fifo" > "$out" 2>&1) & ;;
	redis) setsid $pre /usr/bin/redis-server --port "$(port_of "$3")" --bind 127.0.0.1 \
		--save "" --appendonly no > "$out" 2>&1 & ;;
	memcached) setsid $pre /usr/bin/memcached -p "$(port_of "$3")" -U 0 -l 127.0.0.1 \
		-m 1024 -u "$(id -un)" > "$out" 2>&1 & ;;
	esac
	pid=$!
	PIDS="$PIDS $pid"
}
# ready PROG I PID: waits until instance I holds its data (loads the servers)
ready() {
	out="$T/out.$1.$2"
	case $1 in
	redis)
		p=$(port_of "$2") n=0
		until [ "$(redis-cli -p "$p" ping 2>/dev/null)" = PONG ]; do
			n=$((n + 1)); [ $n -lt 300 ] || return 1; sleep 0.1
		done
		redis-cli -p "$p" --pipe < "$T/data/redis.resp" > "$out.load" 2>&1 || return 1 ;;
	memcached)
		p=$(port_of "$2") n=0
		until "$PY" "$A/mcload.py" "$p" "$T/data/memcached.txt" 2>/dev/null; do
			n=$((n + 1)); [ $n -lt 100 ] || return 1; sleep 0.1
		done ;;
	*) wait_for "$out" '^ready' 300 "$3" ;;
	esac
}
throughput() { # throughput PROG: requests per second of instance 1, or -
	case $1 in
	redis)
		redis-benchmark -p "$(port_of 1)" -q -n 100000 -P 16 -c 4 -t set,get 2>/dev/null |
			tr '\r' '\n' | awk '/requests per second/ { sub(":", "", $1); printf "%s%s=%.0f", s, $1, $2; s = "," }
				END { if (!s) printf "-" }' ;;
	memcached)
		command -v memcslap > /dev/null || { echo -; return; }
		memcslap -s "127.0.0.1:$(port_of 1)" -c 2 -e 10000 -t get 2>/dev/null |
			awk '$1 == "Time" && $3 == "get" { v = $4 / $(NF - 1) }
				END { if (v) printf "GET=%.0f", v; else printf "-" }' ;;
	*) echo - ;;
	esac
}
# The controller: mergefs (its mode auto controller measures and commands
# the library's agents) runs beside the library's variants, mounted on
# $T/mnt; its CPU seconds from mount until the plateau are reported.
ctl_start() {
	CTL=""
	[ "${BENCH_CONTROLLER:-mergefs}" = mergefs ] && [ -x "$B/mergefs/mergefs" ] &&
		[ -c /dev/fuse ] || return 0
	mkdir -p "$T/mnt"
	"$B/mergefs/mergefs" -f "$T/mnt" > "$T/mergefs.log" 2>&1 &
	CTL=$!
	n=0
	until grep -q " $T/mnt " /proc/mounts; do
		n=$((n + 1))
		if [ $n -gt 100 ] || ! kill -0 "$CTL" 2>/dev/null; then
			echo "bench-real: mergefs did not mount: $(tail -2 "$T/mergefs.log")" >&2
			kill "$CTL" 2>/dev/null; CTL=""; return 0
		fi
		sleep 0.1
	done
	# only one controller acts on a host: wait for the lock (a test's
	# mergefs may hold it for a while), else the variant runs with
	# another's controller and its line says ctl_acting 0
	n=0
	until ctl_acting || [ $n -ge $((${BENCH_CTL_WAIT:-120} * 5)) ]; do
		n=$((n + 1)); sleep 0.2
	done
	ctl_acting || echo "bench-real: another mergefs holds /run/mergefs-auto.lock: its controller acts" >&2
}
# ctl_acting: whether our mergefs holds /run/mergefs-auto.lock (/proc/locks),
# as its controller does from its first pass while it acts
ctl_acting() {
	[ -n "${CTL:-}" ] || return 1
	awk -v pid="$CTL" -v ino=":$(stat -c %i /run/mergefs-auto.lock 2>/dev/null)" '
	$2 == "FLOCK" && $5 == pid && substr($6, length($6) - length(ino) + 1) == ino { f = 1 }
	END { exit !f }' /proc/locks
}
ctl_stop() {
	[ -n "${CTL:-}" ] || return 0
	fusermount3 -u "$T/mnt" 2>/dev/null || umount -l "$T/mnt" 2>/dev/null
	kill "$CTL" 2>/dev/null
	wait "$CTL" 2>/dev/null
	[ -z "${BENCH_TRACE:-}" ] || cp "$T/mergefs.log" "$BENCH_TRACE/$prog.$var.mergefs.log"
	CTL=""
}
ctl_cpu() { # the controller's CPU seconds so far (0 without one)
	if [ -n "${CTL:-}" ] && [ -r "/proc/$CTL/stat" ]; then
		awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' \
			"/proc/$CTL/stat"
	else echo 0; fi
}
# churn: Σ over the instances of the controller's counters and the
# library's madvise calls, from the mount's PID/stats (mergefs(8)):
# "prunes probes max_chunk_changes min_followed_s madvise_calls"
churn() {
	for p in $PIDS; do
		[ -n "${CTL:-}" ] && cat "$T/mnt/$p/stats" 2>/dev/null
		echo "--"
	done | awk '$1 == "auto_prunes" { pr += $2; seen = 1 }
		$1 == "auto_probes" { pb += $2 }
		$1 == "auto_chunk_changes_max" && $2 > mx { mx = $2 }
		$1 == "auto_followed_seconds" && (fs == "" || $2 < fs) { fs = $2 }
		$1 == "madvise_calls" { mc += $2; mseen = 1 }
		END { if (seen) printf "%d %d %d %d", pr, pb, mx, fs; else printf "- - - -"
			printf " %s\n", mseen ? mc : "-" }'
}
ms_now() { echo $(($(date +%s%N) / 1000000)); }
# hold: after the plateau, the instances keep running HOLDFOR s while
# ksmp-pagestat samples their saving every HOLDEVERY s; prints "key
# value" pairs: the time-weighted mean saving over the window (trapezoids
# between samples), min, max, one sample a minute (series), the mean time
# a sample took, ksmd's and the controller's CPU seconds over the window,
# and the churn: the controller's prunes and probes (over the instances'
# lives, and within the window), the most state changes of any one chunk,
# the library's madvise calls within the window.
hold() {
	[ "$HOLDFOR" -gt 0 ] || return 0
	c0=$(ctl_cpu) k0=$("$BR/ksmp-plateau" -k) ch0=$(churn)
	t0=$(ms_now) i=0
	: > "$T/hold"
	while :; do
		s0=$(ms_now)
		v=$("$BR/ksmp-pagestat" $PIDS | awk '{ for (i = 1; i < NF; i += 2) if ($i == "saved") print $(i + 1) }')
		s1=$(ms_now)
		[ -n "$v" ] && echo "$((s0 - t0)) $v $((s1 - s0))" >> "$T/hold"
		i=$((i + 1))
		[ $((i * HOLDEVERY)) -le "$HOLDFOR" ] || break
		w=$((t0 + i * HOLDEVERY * 1000 - $(ms_now)))
		[ $w -le 0 ] || sleep "$((w / 1000)).$(printf %03d $((w % 1000)))"
	done
	k1=$("$BR/ksmp-plateau" -k) ch1=$(churn)
	set -- $ch0 $ch1
	awk -v c0="$c0" -v c1="$(ctl_cpu)" -v k="$((k1 - k0))" -v hz="$(getconf CLK_TCK)" \
		-v pr="$6" -v pb="$7" -v mx="$8" -v fs="$9" -v w0="$1 $2" -v m0="$5" -v m1="${10}" '
	{ t[NR] = $1 / 1000; v[NR] = $2; ms += $3 }
	END {
		if (NR < 2) { print "hold_n", NR; exit }
		for (i = 2; i <= NR; i++) a += (v[i] + v[i - 1]) / 2 * (t[i] - t[i - 1])
		mn = mx_ = v[1]; s = v[1]; m = 60
		for (i = 2; i <= NR; i++) {
			if (v[i] < mn) mn = v[i]; if (v[i] > mx_) mx_ = v[i]
			if (t[i] >= m) { s = s "," v[i]; m += 60 }
		}
		split(w0, w, " ")
		printf "hold_s %.0f hold_n %d hold_mean %.0f hold_min %d hold_max %d hold_series %s", \
			t[NR] - t[1], NR, a / (t[NR] - t[1]), mn, mx_, s
		printf " hold_sample_s %.2f hold_ksmd_s %.2f hold_ctl_s %.2f", ms / NR / 1000, k / hz, c1 - c0
		if (pr != "-")
			printf " churn_prunes %d churn_probes %d churn_window %d churn_max %d churn_followed_s %d", \
				pr, pb, pr + pb - w[1] - w[2], mx, fs
		if (m1 != "-" && m0 != "-")
			printf " madvise_window %d", m1 - m0
		printf "\n" }' "$T/hold"
}
variant() {
	prog=$1 var=$2
	trap 'stop_all; ctl_stop' EXIT
	trap 'exit 1' INT TERM HUP
	case $var in zero|shipped|auto|attach-shipped) ctl_start ;; esac
	k0=$("$BR/ksmp-plateau" -k)
	tr=""
	if [ -n "${BENCH_TRACE:-}" ]; then
		tr="$BENCH_TRACE/$prog.$var"
		: > "$tr.trace"
		echo "launch $(ms_now)" > "$tr.marks"
	fi
	for i in $(seq $N); do start "$prog" "$var" "$i"; done
	TRP=""
	if [ -n "$tr" ]; then
		"$BR/ksmp-plateau" -T "$tr.trace" -i 100 ${CTL:+-M "$T/mnt" -C "$CTL"} $PIDS &
		TRP=$!
	fi
	i=0
	for p in $PIDS; do
		i=$((i + 1))
		ready "$prog" "$i" "$p" || { echo "$prog $var error not-ready"; return 1; }
	done
	[ -z "$tr" ] || echo "ready $(ms_now)" >> "$tr.marks"
	# the library (root here) refuses policy files others may write
	if grep -qs 'refused in a privileged process' "$T/out.$prog".*; then
		echo "$prog $var error policy-refused"; return 1
	fi
	extra=""
	case $var in
	attach|attach-shipped)	# no restart: attached once the programs are ready
		mode=process; [ "$var" = attach ] || mode=regions
		KSMP_POLICY_DIR="$S/policy" "$KSMP" attach --mode "$mode" --json $PIDS > "$T/attach.$prog.json" 2>&1 ||
			{ echo "$prog $var error attach:$(tr -d '\n' < "$T/attach.$prog.json" | cut -c1-80 | tr ' ' _)"; return 1; }
		;;
	esac
	if [ "$var" = none ]; then
		ideal=$("$KSMP" estimate --json --no-progress $PIDS | "$PY" -c 'import json, sys
t = json.load(sys.stdin)["total"]; print(t["saved_pages"], max(t["zero_pages"] - 1, 0))')
		extra="ideal ${ideal% *} ideal_zero ${ideal#* }"
		pl=$("$BR/ksmp-plateau" -k "$k0" -n 1 -c 2 $PIDS)
	else
		pl=$("$BR/ksmp-plateau" -k "$k0" -n "$STABLE" -m "$MIN" -c "$CAP" $PIDS)
	fi
	cs=$(ctl_cpu)
	[ -z "${CTL:-}" ] || { ctl_acting && cs="$cs ctl_acting 1" || cs="$cs ctl_acting 0"; }
	[ -z "$tr" ] || echo "plateau $(ms_now) $pl" >> "$tr.marks"
	ps=$("$BR/ksmp-pagestat" $PIDS) || { echo "$prog $var error pagestat"; return 1; }
	if [ -n "${BENCH_SMAPS:-}" ]; then
		i=0
		for p in $PIDS; do
			i=$((i + 1))
			cat "/proc/$p/smaps" > "$BENCH_SMAPS/$prog.$var.$i.smaps" 2>/dev/null
			[ -z "${CTL:-}" ] || for f in regions stats; do
				cat "$T/mnt/$p/$f" > "$BENCH_SMAPS/$prog.$var.$i.$f" 2>/dev/null
			done
		done
		"$BR/ksmp-pagestat" -d "$BENCH_SMAPS/$prog.$var.chunks" $PIDS > /dev/null
	fi
	echo "$prog $var $pl $ps ctl_s $cs rps $(throughput "$prog") $extra $(hold)"
	[ -z "$TRP" ] || { kill "$TRP"; wait "$TRP"; } 2>/dev/null
	stop_all
}
if [ "${1:-}" = program ]; then
	prog=$2; shift 2
	vp=""
	trap '[ -z "$vp" ] || { kill -TERM "$vp"; wait "$vp"; }; exit 1' INT TERM HUP
	for v in "$@"; do
		echo "bench-real: $prog $v ($(($(date +%s) - T_START)) s)" >&2
		variant "$prog" "$v" &
		vp=$!
		wait "$vp"
		vp=""
	done
	exit 0
fi

# ---------------------------------------------------------------- driver
bin_of() {
	case $1 in
	python|changing-data) echo "$PY" ;;
	jvm-*) echo /usr/bin/java ;;
	redis) echo /usr/bin/redis-server ;;
	sqlite3) echo /usr/bin/sqlite3 ;;
	*) echo "/usr/bin/$1" ;;
	esac
}
if [ "$(id -u)" -ne 0 ] || [ ! -w /sys/kernel/mm/ksm/run ] || [ ! -r /proc/kpageflags ]; then
	echo "bench-real: needs root, KSM and /proc/kpageflags; skipped"
	exit 0
fi
[ -f "$LIB" ] || { echo "bench-real: $LIB not built"; exit 1; }
progs=$(echo "${BENCH_PROGRAMS:-$ALL}" | tr ',' ' ')
for p in $progs; do
	case " $ALL " in *" $p "*) ;; *) echo "bench-real: unknown program $p (one of: $ALL)"; exit 2;; esac
done
if [ "${BENCH_HOLD:-program}" = run ] && [ -z "${KSMP_KSM_HELD:-}" ]; then
	exec "$B/tests/ksm-hold" -p 2000 -s 10 -S 1 -- /bin/sh "$0" "$@"
fi
T=$(mktemp -d /tmp/ksmp-bench-real.XXXXXX) || exit 1
HOLDFOR=${BENCH_HOLDFOR:-0} HOLDEVERY=${BENCH_HOLDEVERY:-10}
case $HOLDFOR$HOLDEVERY in *[!0-9]*) echo "bench-real: BENCH_HOLDFOR and BENCH_HOLDEVERY are seconds"; exit 2 ;; esac
[ "$HOLDEVERY" -gt 0 ] || { echo "bench-real: BENCH_HOLDEVERY must be > 0"; exit 2; }
export T RECORDS CAP STABLE MIN HOLDFOR HOLDEVERY
cleanup() { rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
mkdir -p "$T/data" "$T/empty-policy-dir" "$T/java"
mkfifo "$T/fifo"
printf 'mode auto\n' > "$T/auto.policy"
"$PY" "$A/gendata.py" "$T/data" "$RECORDS" || exit 1
case " $progs " in *" jvm-"*)
	if command -v javac > /dev/null; then
		javac -nowarn -d "$T/java" "$A/App.java" || { echo "bench-real: javac failed"; exit 1; }
	fi ;;
esac
: > "$T/results"
T_START=$(date +%s)
export T_START
for p in $progs; do
	bin=$(bin_of "$p")
	missing=""
	[ -x "$bin" ] || missing=$bin
	case $p in
	jvm-*) command -v javac > /dev/null || missing=javac ;;
	redis) command -v redis-cli > /dev/null || missing=redis-cli ;;
	esac
	if [ -n "$missing" ]; then
		echo "bench-real: $p: $missing not installed, skipped"
		echo "$p none error missing:$missing" >> "$T/results"; continue
	fi
	# the shipped variant where the library would choose a file of policy/
	pol=$("$KSMP" check -q -d "$S/policy" --program "$bin" | sed -n 's/^ *chosen *\([^ ]*\.policy\) .*/\1/p')
	vars="none process zero${pol:+ shipped}"
	[ "${BENCH_AUTO:-0}" = 1 ] && vars="$vars auto"
	[ "${BENCH_ATTACH:-0}" = 1 ] && vars="$vars attach${pol:+ attach-shipped}"
	if [ -n "${BENCH_VARIANTS:-}" ]; then
		vars=$(for v in $vars; do case ",$BENCH_VARIANTS," in *",$v,"*) echo "$v" ;; esac; done)
	fi
	echo "$p policy ${pol:+$(basename "$pol")}" >> "$T/results"
	if [ "${BENCH_HOLD:-program}" = run ]; then
		/bin/sh "$0" program "$p" $vars | tee -a "$T/results"
	elif [ "$HOLDFOR" -gt 0 ]; then	# long: one hold per variant
		for v in $vars; do
			"$B/tests/ksm-hold" -p 2000 -s 10 -S 1 -- /bin/sh "$0" program "$p" "$v" | tee -a "$T/results"
		done
	else
		"$B/tests/ksm-hold" -p 2000 -s 10 -S 1 -- /bin/sh "$0" program "$p" $vars | tee -a "$T/results"
	fi
done
"$PY" "$S/bench/real/report.py" "$T/results" "$TUNED" "$HELDOUT" "$N" "$RECORDS" \
	"$(($(date +%s) - T_START))" > "$T/report.md" || exit 1
cat "$T/report.md"
OUT="$S/bench/results.md"
if ! touch "$OUT" 2>/dev/null; then OUT="$B/bench/results.md"; fi
{ echo; cat "$T/report.md"; } >> "$OUT"
echo "bench-real: appended to $OUT"
