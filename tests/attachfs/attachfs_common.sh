# attachfs_common.sh - helpers for the tests/attachfs tests (sourced after
# attach_common.sh and mergefs_common.sh; not a test itself).
#
#   af_setup          root, FUSE and setpriv or skip; at_setup, mfs_init
#                     and the cleanup of both at exit
#   af_mount [OPTS]   mergefs in the foreground on $MNT (allow_other, the
#                     build's ksmpreload, timeout=2000, OPTS), its pid in
#                     MFS, its stderr in $T/mergefs.err (a sanitizer build
#                     reports there); waits (3 s) until it is mounted
#   af_mounted        is $MNT mounted?
#   merge_any PID     its ksm_merge_any (yes/no)
#   untouched PID     not merging, not traced, no attach record
#   NOB               setpriv prefix to run as uid 65534
NOB="setpriv --reuid 65534 --regid 65534 --clear-groups"

af_setup() {
	need_root
	need_fuse
	command -v setpriv >/dev/null 2>&1 || skip_all_env "setpriv (util-linux) not installed"
	at_setup
	mfs_init
	trap 'mfs_cleanup; at_cleanup' EXIT
}

af_mounted() { grep -q "^[^ ]* $MNT fuse" /proc/mounts; }

af_mount() {
	"$B/mergefs/mergefs" -f -o "allow_other,timeout=2000,ksmpreload=$K${1:+,$1}" \
		"$MNT" 2> "$T/mergefs.err" &
	MFS=$!
	AT_PIDS="$AT_PIDS $MFS"
	n=0; while ! af_mounted && [ $n -lt 300 ]; do sleep 0.01; n=$((n + 1)); done
}

merge_any() { sed -n 's/^ksm_merge_any: //p' "/proc/$1/ksm_stat"; }

untouched() {
	[ "$(merge_any "$1")" = no ] && [ ! -e "$T/rec/$1" ] &&
		grep -q '^TracerPid:[[:space:]]*0$' "/proc/$1/status"
}
