# tests/auto/auto_common.sh - sourced by the mode auto tests (after
# tests/tap.sh); sources tests/mergefs_common.sh.
. "$KSMP_SRCDIR/tests/mergefs_common.sh"

# auto_init N [KSM-HOLD OPTION...]: root, KSM and FUSE or skip; the test
# again under tests/ksm-hold (ksmd fast, or as the options say), then
# mfs_init and a plan of N
auto_init() {
	_n=$1; shift
	need_root
	need_ksm
	need_fuse
	if [ -z "${KSMP_KSM_HELD:-}" ]; then
		exec "$KSMP_BUILDDIR/tests/ksm-hold" "$@" -- "$SHELL_FOR_TEST" "$0"
	fi
	mfs_init root fuse ksm
	MFS_KEEP_OUTPUT=1	# mergefs's stderr kept, shown on failure
	plan "$_n"
}
# pair POLICY MIB PATTERN: instances a and b of auto-prog alike, fed on
# fds 4 and 5, ready; A: the address of a's mapping
pair() {
	run a "$1" "$2" "$3"
	run b "$1" "$2" "$3"
	exec 4> "$OUT/a.in" 5> "$OUT/b.in"
	wait_ready a
	wait_ready b
	A=$(addr a)
}
# need_acting N: unless this mount's controller acts, skip the N checks
# left and end the test
need_acting() {
	acting && return 0
	skip "$1" "another mergefs holds /run/mergefs-auto.lock: its controller acts"
	exit 0
}
# acting: whether this mount's controller acts: it holds the flock on
# /run/mergefs-auto.lock (/proc/locks), taken as its first pass begins
# (a pass that never ends counts: auto_cycles would say 0)
acting() {
	awk -v pid="$(mfs_pid)" -v ino=":$(stat -c %i /run/mergefs-auto.lock 2>/dev/null)" '
	$2 == "FLOCK" && $5 == pid && substr($6, length($6) - length(ino) + 1) == ino { f = 1 }
	END { exit !f }' /proc/locks
}

# run NAME POLICY MIB PATTERN [apart]: an instance of auto-prog fed from
# a fifo (the caller keeps a writer open); sets NAME_pid
run() {
	mkfifo "$OUT/$1.in"
	LD_PRELOAD=$(ksmp_preload) KSMP_POLICY=$OUT/$2 KSMP_POLICY_DIR=$OUT \
		"$B/tests/auto/auto-prog" "$3" "$4" ${5:-} < "$OUT/$1.in" > "$OUT/$1" 2>&1 &
	PIDS="$PIDS $!"
	eval "${1}_pid=$!"
}
# wait_ready NAME: until the instance printed its ready line
wait_ready() {
	i=0; until grep -qs '^ready' "$OUT/$1" || [ $i -gt 100 ]; do sleep 0.1; i=$((i + 1)); done
}
# addr NAME: the address of the instance's mapping
addr() { awk '/^ready/ { print $2; exit }' "$OUT/$1"; }

# vma PID ADDR: "MG KSM_KB" of the VMA holding ADDR (MG: 1 if mergeable)
vma() {
	awk -v a="$(printf '%d' "$2")" '
	function hex(s,  i, n) {
		n = 0; s = tolower(s)
		for (i = 1; i <= length(s); i++)
			n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return n
	}
	/^[0-9a-f]+-[0-9a-f]+ / { split($1, r, "-"); in_ = hex(r[1]) <= a && a < hex(r[2]); next }
	in_ && $1 == "KSM:" { ksm = $2 }
	in_ && $1 == "VmFlags:" { mg = 0; for (i = 2; i <= NF; i++) if ($i == "mg") mg = 1
		print mg, ksm + 0; exit }' "/proc/$1/smaps"
}
# pruned_in PID ADDR [MIB]: pruned records inside the MIB (16) at ADDR
pruned_in() {
	awk -v lo="$(printf '%d' "$2")" -v len=$((${3:-16} * 1048576)) '
	function hex(s,  i, n) {
		n = 0; s = tolower(s); sub(/^0x/, "", s)
		for (i = 1; i <= length(s); i++)
			n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return n
	}
	$NF == "pruned" { split($1, r, "-"); if (hex(r[1]) >= lo && hex(r[2]) <= lo + len) n++ }
	END { print n + 0 }' "$MNT/$1/regions"
}
# until SECONDS CMD...: poll CMD every 0.2 s
until_() {
	t=$(($1 * 5)); shift
	while [ $t -gt 0 ]; do "$@" && return 0; sleep 0.2; t=$((t - 1)); done
	return 1
}
