# mergefs_common.sh - sourced by tests/mergefs_*.sh (after tap.sh): the
# mount point, output directory, target bookkeeping and cleanup that every
# mergefs test shares. Not a test itself.
#
#   mfs_init [need...]    probe (root, fuse, setpriv, ...), then set B, P, W,
#                         MNT, OUT and the EXIT trap that always unmounts
#                         $MNT (and $MNT2, a second mount point, if set)
#   mfs_mount [OPTS]      mount "$B/mergefs/mergefs" -o OPTS on $MNT; with
#                         MFS_KEEP_OUTPUT=1 (tests/auto) mergefs runs in
#                         the foreground (-f) with its output in $OUT, so
#                         that what it says before dying is kept (daemonised,
#                         libfuse sends it to /dev/null): mfs_cleanup prints
#                         it as TAP comments when a check failed or mergefs
#                         was gone before the end
#   mfs_pid               pid of the mergefs daemon serving $MNT
#   spawn NAME CMD...     run CMD in the background, stdout in $OUT/NAME, pid
#                         in $NAME_pid; waits (3 s at most) for its first line
#   start NAME ARGS...    spawn NAME "$P/mergefs_target" ARGS...
#   field FILE KEY        value of the first "KEY value" line of FILE
#   has_mg PID ADDR       yes/no: is the VMA holding ADDR mergeable (mg)
#   wait_line FILE RE     wait (3 s at most) until FILE has a line matching RE

mfs_init() {
	for need in "$@"; do
		case $need in
		root) need_root ;;
		fuse) need_fuse ;;
		ksm) need_ksm ;;
		setpriv) command -v setpriv >/dev/null 2>&1 ||
			skip_all_env "setpriv (util-linux) not installed" ;;
		esac
	done
	B=$KSMP_BUILDDIR
	P=$B/tests/progs
	W=$P/mergefs_write
	MNT=$(mktemp -d /tmp/mergefs-test.XXXXXX)
	OUT=$(mktemp -d /tmp/mergefs-out.XXXXXX)
	PIDS=
	MNT2=
	MFS_WRAP=
	trap mfs_cleanup EXIT
	trap 'exit 1' INT TERM HUP
}

mfs_cleanup() {
	for p in $PIDS; do kill -CONT "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; done
	mfs_gone=
	[ -n "$MFS_WRAP" ] && [ -z "$(mfs_pid)" ] && mfs_gone=1
	for m in "$MNT" ${MNT2:-}; do
		fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null
		rmdir "$m" 2>/dev/null
	done
	mfs_reap
	if [ -s "$OUT/mergefs.out" ] && { [ "$tap_failed" -gt 0 ] || [ -n "$mfs_gone" ]; }; then
		diag "mergefs's output${mfs_gone:+ (it was gone before the end)}:"
		sed 's/^/# /' "$OUT/mergefs.out"
	fi
	rm -rf "$OUT"
}

mfs_mount() {
	if [ "${MFS_KEEP_OUTPUT:-}" = 1 ]; then
		mfs_mount_kept "$@"
		return
	fi
	"$B/mergefs/mergefs" ${1:+-o "$1"} "$MNT"
}

# mergefs -f, its output and then its exit status in $OUT/mergefs.out
# (the subshell waits for it and is this shell's child, so that mergefs
# itself leaves no zombie that kill -0 would find); returns once $MNT is
# mounted, 1 if mergefs ended first or 10 s passed
mfs_mount_kept() {
	_n=$(cat "$OUT/mergefs.out" 2>/dev/null | wc -l)	# an earlier mergefs's
	(
		"$B/mergefs/mergefs" -f ${1:+-o "$1"} "$MNT" < /dev/null
		echo "mergefs exited with status $?"
	) >> "$OUT/mergefs.out" 2>&1 &
	MFS_WRAP="$MFS_WRAP $!"
	i=0
	until awk -v m="$MNT" '$2 == m { f = 1 } END { exit !f }' /proc/self/mounts; do
		i=$((i + 1))
		if [ $i -gt 200 ] || tail -n +$((_n + 1)) "$OUT/mergefs.out" 2>/dev/null |
			grep -q '^mergefs exited'; then
			tail -n +$((_n + 1)) "$OUT/mergefs.out" | sed 's/^/# /'
			return 1
		fi
		sleep 0.05
	done
}

# after the unmount: mergefs -f ends (5 s at most, then SIGKILL), and its
# subshells are reaped
mfs_reap() {
	[ -n "$MFS_WRAP" ] || return 0
	i=0
	while [ -n "$(mfs_pid)" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	for p in $(mfs_pid); do kill -9 "$p" 2>/dev/null; done
	for w in $MFS_WRAP; do wait "$w" 2>/dev/null; done
	MFS_WRAP=
}

mfs_pid() {
	pgrep -f "mergefs/mergefs .*$MNT\$" | head -n 1
}

spawn() {
	name=$1; shift
	"$@" > "$OUT/$name" &
	pid=$!
	PIDS="$PIDS $pid"
	eval "${name}_pid=$pid"
	i=0; while [ ! -s "$OUT/$name" ] && [ $i -lt 300 ]; do sleep 0.01; i=$((i + 1)); done
}

start() {
	sname=$1; shift
	spawn "$sname" "$P/mergefs_target" "$@"
}

field() {
	sed -n "s/^$2 //p" "$1" | head -n 1
}

has_mg() {
	# the VMA holding ADDR (it may have merged with a neighbour)
	awk -v a="$(printf '%x' "$2")" '
	function hex(s,  i, n) {
		n = 0
		for (i = 1; i <= length(s); i++)
			n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return n
	}
	BEGIN { want = hex(a) }
	/^[0-9a-f]+-[0-9a-f]+ / {
		split($1, r, "-"); f = hex(r[1]) <= want && want < hex(r[2]); next
	}
	f && /^VmFlags:/ { print (/ mg/ ? "yes" : "no"); exit }' "/proc/$1/smaps"
}

wait_line() {
	i=0; while ! grep -q "$2" "$1" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.01; i=$((i + 1)); done
}
