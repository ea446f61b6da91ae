# preload_common.sh - shared helpers for the libksmpreload.so end-to-end
# tests (sourced after tap.sh; not a test itself).
#
#   pl_need_lib            skip_all unless the library was built
#   pl_tmp                 per-test scratch dir ($PL_TMP), removed at exit
#   pl_policy NAME TEXT    write $PL_TMP/NAME.policy, print its path
#   pl_start OUT CMD...    start CMD in the background (stdout to OUT,
#                          stderr to OUT.err); its pid is appended to PL_PIDS
#                          and left in PL_LAST
#   pl_wait_ready OUT [S]  wait until OUT has a "ready" line
#   pl_addr OUT I [J]      the J-th (default first) address of region I
#   pl_stop                SIGKILL every started process
#   pl_probe ...           tests/progs/ksmp-probe
PROGS="$KSMP_BUILDDIR/tests/progs"
# The test programs keep their memory until killed or exit on purpose:
# LeakSanitizer (sanitizer build) must not turn that into failures.
ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=0"
export ASAN_OPTIONS
PL_PIDS=""
PL_TMP=""

pl_need_lib() {
	[ -f "$(ksmp_lib)" ] || skip_all "libksmpreload.so not built"
}

pl_stop() {
	for p in $PL_PIDS; do kill -9 "$p" 2>/dev/null; done
	for p in $PL_PIDS; do wait "$p" 2>/dev/null; done
	PL_PIDS=""
}

pl_cleanup() {
	pl_stop
	[ -n "$PL_TMP" ] && rm -rf "$PL_TMP"
}

pl_tmp() {
	PL_TMP=$(mktemp -d /tmp/ksmp-test.XXXXXX)
	trap pl_cleanup EXIT
	trap 'exit 1' INT TERM
}

pl_policy() {
	printf '%s\n' "$2" > "$PL_TMP/$1.policy"
	echo "$PL_TMP/$1.policy"
}

pl_start() {
	out=$1; shift
	"$@" > "$out" 2> "$out.err" &
	PL_LAST=$!
	PL_PIDS="$PL_PIDS $PL_LAST"
}

pl_wait_ready() { pl_wait_line "$1" ready "${2:-20}"; }

# pl_wait_line FILE WORD [SECONDS]: until a line of FILE starts with WORD
# (default 20 s; on timeout the program's stderr as diagnostics, status 1)
pl_wait_line() {
	n=0; lim=$(( ${3:-20} * 20 ))
	while ! grep -q "^$2" "$1" 2>/dev/null; do
		n=$((n + 1))
		if [ $n -gt $lim ]; then
			diag "timeout waiting for '$2' in $1; stderr:"
			sed 's/^/# /' "$1.err" 2>/dev/null
			return 1
		fi
		sleep 0.05
	done
}

pl_addr() {
	awk -v i="$2" -v j="${3:-1}" '$1 == "region" && $2 == i { if (++n == j) { print $4; exit } }' "$1"
}

pl_probe() { "$PROGS/ksmp-probe" "$@"; }

# pl_record PID ADDR: "KIND CALLER" of the library's record holding ADDR
# (hex, with or without 0x), nothing when no record holds it; a message
# (status 1) when ADDR is no address or the records cannot be read, so
# that a check for "no record" cannot pass on a missing pid or address
pl_record() {
	case ${2#0x} in
	"" | *[!0-9a-fA-F]*) echo "pl_record: no address '$2'"; return 1 ;;
	esac
	x=$((0x${2#0x}))
	_r=$(pl_probe records "$1" 2>&1) || { echo "pl_record: no records of '$1': $_r"; return 1; }
	printf '%s\n' "$_r" | while read -r s len kind st caller; do
		[ -n "$len" ] && [ "$x" -ge $((0x$s)) ] && [ "$x" -lt $((0x$s + len)) ] &&
			echo "$kind $caller"
	done
}

# ok-style helper: pl_ge GOT MIN MSG
pl_ge() {
	if [ "${1:-0}" -ge "$2" ] 2>/dev/null; then _tap_result 0 "$3"; else
		echo "# got '$1', want >= $2"; _tap_result 1 "$3"; fi
}
pl_le() {
	if [ "${1:-0}" -le "$2" ] 2>/dev/null; then _tap_result 0 "$3"; else
		echo "# got '$1', want <= $2"; _tap_result 1 "$3"; fi
}

# Real programs: pl_real_judge LABEL MINPAGES PID... waits for the plateau
# and checks per process: some mapping has mg, ksm_merging_pages >= MINPAGES.
# 2 results per pid. Under ASan the merging checks are skipped (ASan's own
# allocator holds the program's data, not the library's malloc).
pl_real_judge() {
	label=$1; min=$2; shift 2
	res=""
	if ! sanitized; then
		res=$(pl_probe plateau 25 "$@")
		diag "$label plateau:" $res
	fi
	pl_n=0
	for p in "$@"; do
		pl_n=$((pl_n + 1))
		if sanitized; then
			skip 2 "$label $pl_n: ASan's malloc shadows the library's malloc interposers"
			continue
		fi
		pl_ge "$(pl_probe mgcount "$p")" 1 "$label $pl_n: the policy marked some memory mergeable"
		m=$(echo "$res" | awk -v p="$p" '$1 == p { print $2 }')
		pl_ge "$m" "$min" "$label $pl_n: ksm_merging_pages $m >= $min"
	done
}

# The built-in default: no KSMP_POLICY, an empty policy directory (call
# after pl_tmp).
pl_default_env() {
	mkdir -p "$PL_TMP/empty.d"
	echo "KSMP_POLICY_DIR=$PL_TMP/empty.d"
}

# Environment for real programs under the library.
pl_real_env() {
	echo "LD_PRELOAD=$(ksmp_preload)"
	if sanitized; then echo "ASAN_OPTIONS=detect_leaks=0"; fi
}
