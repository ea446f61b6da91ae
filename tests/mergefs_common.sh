# mergefs_common.sh - sourced by tests/mergefs_*.sh (after tap.sh): the
# mount point, output directory, target bookkeeping and cleanup that every
# mergefs test shares. Not a test itself.
#
#   mfs_init [need...]    probe (root, fuse, setpriv, ...), then set B, P, W,
#                         MNT, OUT and the EXIT trap that always unmounts
#                         $MNT (and $MNT2, a second mount point, if set)
#   mfs_mount [OPTS]      mount "$B/mergefs/mergefs" -o OPTS on $MNT
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
	trap mfs_cleanup EXIT
	trap 'exit 1' INT TERM HUP
}

mfs_cleanup() {
	for p in $PIDS; do kill -CONT "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; done
	for m in "$MNT" ${MNT2:-}; do
		fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null
		rmdir "$m" 2>/dev/null
	done
	rm -rf "$OUT"
}

mfs_mount() {
	"$B/mergefs/mergefs" ${1:+-o "$1"} "$MNT"
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
