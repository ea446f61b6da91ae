# common.sh - shared by tests/libsec's shell tests (sourced after tap.sh;
# not a test itself).
#
#   ls_scratch NAME   $T: a fresh 0755 directory /tmp/ksmp-NAME.XXXXXX; at
#                     exit every pid in $PIDS is killed, whatever is
#                     mounted on or under $T unmounted, and $T removed
#   ls_ready FILE     wait up to 30 s (a loaded machine) for a line
#                     "ready ..." in FILE
PIDS=
T=
ls_cleanup() {
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	[ -n "$T" ] || return 0
	if awk -v t="$T" '$2 == t || index($2, t "/") == 1 { f = 1 } END { exit !f }' \
		/proc/self/mounts; then
		umount -R -l "$T" 2>/dev/null
	fi
	rm -rf "$T"
}
ls_scratch() {
	T=$(mktemp -d "/tmp/ksmp-$1.XXXXXX") || exit 1
	chmod 755 "$T"
	trap ls_cleanup EXIT
	trap 'exit 1' INT TERM HUP
}
ls_ready() {
	i=0
	while ! grep -qs '^ready' "$1" && [ $i -lt 3000 ]; do sleep 0.01; i=$((i + 1)); done
}
