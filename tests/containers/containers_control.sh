#!/bin/sh
# containers_control - mergefs (host root) steers a program under the
# library inside user namespaces made with unshare, as container engines
# make them: rootless with root inside, rootless with a non-root uid
# inside, and rootful with a remapped range (host root unmapped, the
# overflow uid mapped to a real user inside). The agent sees host root as
# the overflow uid there and takes the command on the block's nonce; each
# write answers at once (no 5 s timeout), unmerges, re-merges, and nothing
# is rejected; the host user who made a rootless container steers it as
# its owner, another user may not. A namespace that maps host root to a
# third user: stats say steerable 0 with the reason, and a write fails
# with EACCES at once.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/mergefs_common.sh"
. "$KSMP_SRCDIR/tests/containers/ctr_common.sh"
ctr_init
U=$CTR_UID
R=$((U + 100000))	# base of the remapped range (rootful)

policy() { # policy FILE OWNER
	printf 'name ctr-control\nmode regions\ncontrol yes\nmerge mmap min=1M\n' > "$1"
	chown "$2" "$1"; chmod 644 "$1"
}
policy "$OUT/root.policy" "$U"		# ns root = host U: its own file
policy "$OUT/user.policy" "$U"
policy "$OUT/remap.policy" "$R"		# ns root = host R

plan 24
mfs_mount allow_other,timeout=3000 || { echo "1..0 # mount failed"; exit 1; }

# steered NAME WHAT: the checks of one container whose target is NAME_pid
steered() {
	eval "t=\$${1}_pid"
	is "$(field "$MNT/$t/stats" steerable)" 1 "$2: stats say steerable"
	ctr_steer "$1" "$2"
	ok "$2: answered in ${ctr_ms} ms, not at the timeout" [ "$ctr_ms" -lt 2000 ]
	is "$(field "$MNT/$t/stats" commands_rejected)" 0 "$2: nothing rejected"
}

T=$B/tests/progs/mergefs_target
# shellcheck disable=SC2046
ctr_rootless a "$U" 0 $(lib_env "$OUT/root.policy") "$T" -n -A -s 311 -m 4
is "$(sed -n 's/^ *0 *\([0-9]*\) .*/\1/p' "/proc/$a_pid/uid_map")" "$U" "rootless: ns root is host uid $U"
is "$(field "$MNT/$a_pid/stats" nspid)" 1 "stats: nspid is the pid inside (1, the container's first process)"
steered a "rootless, root inside"
is "$(as_uid "$U" "$W" "$MNT/$a_pid/merge" 0)/$(as_uid "$U" "$W" "$MNT/$a_pid/merge" 1)" OK/OK \
	"rootless: the host user who made the container steers it too"
is "$(as_uid $((U + 2)) "$W" "$MNT/$a_pid/merge" 0)" EACCES "rootless: another host user may not"

# shellcheck disable=SC2046
ctr_rootless b "$U" 1000 $(lib_env "$OUT/user.policy") "$T" -n -A -s 312 -m 4
steered b "rootless, uid 1000 inside"

# shellcheck disable=SC2046
ctr_mapped c "0 $R 65536" 0 $(lib_env "$OUT/remap.policy") "$T" -n -A -s 313 -m 4
is "$(awk '/^Uid:/ {print $2}' "/proc/$c_pid/status")" "$R" "rootful remap: ns root is host uid $R"
steered c "rootful remap, nobody mapped inside"

# host root arrives as uid 5, the program is uid 7: the agent would reject
# mergefs, so mergefs says so and refuses at once.
# shellcheck disable=SC2046
ctr_mapped d "5 0 1;7 $((U + 1)) 1" 7 $(lib_env "$OUT/user.policy") "$T" -n -A -s 314 -m 4
S=$MNT/$d_pid
is "$(field "$S/stats" library)/$(field "$S/stats" steerable)" 1/0 "root mapped to a third uid: not steerable"
ok "and the reason says why" grep -q "^reason the agent would reject mergefs" "$S/stats"
t0=$(now_ms)
is "$("$W" "$S/merge" 0)" EACCES "echo 0 > merge: EACCES (merge is not writable)"
ok "at once ($(($(now_ms) - t0)) ms)" [ $(($(now_ms) - t0)) -lt 1000 ]
done_testing
