# ctr_common.sh - sourced by tests/containers/*.sh (after tap.sh and
# mergefs_common.sh): containers made with unshare(1), as Docker, podman
# and Kubernetes make them, with a program under the library inside.
#
#   ctr_init              probes (root, FUSE, setpriv, unshare, user
#                         namespaces for an unprivileged uid, a build tree
#                         that uid can read), then mfs_init
#   ctr_rootless NAME UID INNER CMD...
#                         as host UID, a new user, pid and mount namespace
#                         mapping UID to INNER (0: --map-root-user), CMD
#                         inside (podman/docker rootless); NAME_pid is
#                         CMD's host pid, its first line in $OUT/NAME
#   ctr_mapped NAME MAP INNER CMD...
#                         as root, a new user, pid and mount namespace
#                         whose uid_map and gid_map are MAP (lines "inner
#                         outer count", ';' between lines), CMD joining it
#                         with nsenter as INNER (rootful
#                         with a remapped range: docker userns-remap,
#                         podman --userns=auto, Kubernetes user namespaces)
#   lib_env POLICY        the env(1) arguments that preload the library
#   ctr_steer NAME WHAT   2 checks: from the host, echo 0 > merge unmerges
#                         the mapping NAME printed ("ready ADDR ..."), in
#                         $ctr_ms ms, and echo 1 > merge merges it again
#
# Every container runs under unshare --kill-child: it dies with its
# unshare, and cleanup kills both by pid.

ctr_init() {
	# absolute: nsenter --mount starts CMD in the namespace's root
	KSMP_BUILDDIR=$(cd "$KSMP_BUILDDIR" && pwd)
	mfs_init root fuse setpriv
	for c in unshare nsenter; do command -v $c >/dev/null 2>&1 ||
		skip_all_env "$c (util-linux) not installed"; done
	[ -f "$(ksmp_lib)" ] || skip_all "libksmpreload.so not built"
	CTR_UID=${CTR_UID:-61721}
	as_uid "$CTR_UID" unshare --user --map-root-user --pid --fork true 2>/dev/null ||
		skip_all_env "user namespaces not available to an unprivileged uid"
	for f in "$(ksmp_lib)" "$B/tests/progs/mergefs_target" "$W"; do
		as_uid "$CTR_UID" test -r "$f" ||
			skip_all_env "$f not readable by uid $CTR_UID (build tree not world-readable)"
	done
	chmod 755 "$OUT"
}

as_uid() { u=$1; shift; setpriv --reuid "$u" --regid "$u" --clear-groups "$@"; }

lib_env() {
	echo "env LD_PRELOAD=$(ksmp_preload) KSMP_POLICY=$1"
}

# ctr_child UNSHARE_PID: its child (the container's first process)
ctr_child() {
	i=0; c=
	while [ -z "$c" ] && [ $i -lt 300 ]; do
		c=$(cut -d' ' -f1 "/proc/$1/task/$1/children" 2>/dev/null)
		[ -n "$c" ] || [ ! -d "/proc/$1" ] || sleep 0.01; i=$((i + 1))
	done
	echo "$c"
}

ctr_rootless() {
	cname=$1 cuid=$2 cin=$3; shift 3
	if [ "$cin" = 0 ]; then m=--map-root-user; else m="--map-user=$cin --map-group=$cin"; fi
	# shellcheck disable=SC2086
	spawn "$cname" setpriv --reuid "$cuid" --regid "$cuid" --clear-groups \
		unshare --user $m --pid --kill-child --mount-proc "$@"
	eval "up=\$${cname}_pid"
	c=$(ctr_child "$up")
	PIDS="$PIDS $c"
	eval "${cname}_pid=$c"
}

ctr_mapped() {
	cname=$1 cmap=$2 cin=$3; shift 3
	# A first process holds the namespaces; once its maps are written,
	# CMD joins them as INNER (joining gives the capabilities that an
	# exec before the maps existed would have dropped).
	unshare --user --pid --kill-child --mount-proc sleep 3600 &
	up=$!
	PIDS="$PIDS $up"
	h=$(ctr_child "$up")
	PIDS="$PIDS $h"
	echo "$cmap" | tr ';' '\n' > "/proc/$h/uid_map"
	echo "$cmap" | tr ';' '\n' > "/proc/$h/gid_map"
	spawn "$cname" nsenter --target "$h" --user --pid --mount \
		--setuid "$cin" --setgid "$cin" "$@"
	eval "np=\$${cname}_pid"
	c=$(ctr_child "$np")
	PIDS="$PIDS $c"
	eval "${cname}_pid=$c"
}

ctr_steer() {
	eval "t=\$${1}_pid"
	addr=$(awk '{print $2}' "$OUT/$1")
	t0=$(now_ms)
	r=$("$W" "$MNT/$t/merge" 0)
	ctr_ms=$(($(now_ms) - t0))
	is "$r/$(has_mg "$t" "$addr")" OK/no "$2: echo 0 > merge unmerges the program"
	is "$("$W" "$MNT/$t/merge" 1)/$(has_mg "$t" "$addr")" OK/yes "$2: echo 1 > merge merges again"
}

# now_ms: monotonic enough for timing one write
now_ms() { echo $(($(date +%s%N) / 1000000)); }
