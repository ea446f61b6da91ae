#!/bin/sh
# containers_recipes - the recipes of libksmpreload(7), CONTAINERS, each
# carried out with namespaces made by unshare/nsenter as the engines make
# them, and steered or read from the host's mergefs:
#  1. Docker/podman rootless: the host's library and a policy bind-mounted
#     read-only into the container, LD_PRELOAD and KSMP_POLICY naming the
#     paths inside; root inside. A policy file of host root is refused
#     there (it shows as the overflow uid) with a hint that says so.
#  2. Kubernetes (hostPath volume, runAsUser 1000, a pod with its own user
#     namespace: hostUsers false) or rootful podman/Docker with a remapped
#     range: the same mounts made by the container's root, the program run
#     as uid 1000, a policy file owned by host root.
#  3. Attach from the host: a program started without the library inside
#     a rootless container, `ksmpreload attach --mode process PID` with
#     the host pid, then `ksmpreload detach PID`.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/mergefs_common.sh"
. "$KSMP_SRCDIR/tests/containers/ctr_common.sh"
[ -r /proc/self/ksm_stat ] || skip_all_env "kernel has no /proc/PID/ksm_stat"
ctr_init
U=$CTR_UID
R=$((U + 100000))
T=$B/tests/progs/mergefs_target
K=$B/cli/ksmpreload
[ -x "$K" ] || skip_all "ksmpreload not built"
as_uid "$U" test -x "$K" || skip_all_env "$K not executable by uid $U"
IN=/mnt/ksmpreload	# the container's path (a tmpfs mounted inside)
PRE=$IN/libksmpreload.so
sanitized && PRE=$KSMP_ASAN_RUNTIME:$PRE

printf 'name ctr-recipe\nmode regions\ncontrol yes\nmerge mmap min=1M\n' > "$OUT/app.policy"
cp "$OUT/app.policy" "$OUT/root.policy"
chown "$U" "$OUT/app.policy"		# the image's file: owned by the container's root
chmod 644 "$OUT/app.policy" "$OUT/root.policy"	# root.policy: host root's

# What `-v HOST:INSIDE:ro` does, inside the container's mount namespace.
MOUNTS="mount -t tmpfs tmpfs /mnt && mkdir $IN &&
	touch $IN/libksmpreload.so $IN/app.policy &&
	mount --bind $(ksmp_lib) $IN/libksmpreload.so &&
	mount -o remount,bind,ro $IN/libksmpreload.so &&
	mount --bind \$0 $IN/app.policy && mount -o remount,bind,ro $IN/app.policy"

plan 15
mfs_mount allow_other,timeout=3000 || { echo "1..0 # mount failed"; exit 1; }

# steer NAME WHAT: the library runs from the bind mount and mergefs steers it
steer() {
	eval "t=\$${1}_pid"
	addr=$(awk '{print $2}' "$OUT/$1")
	S=$MNT/$t
	ok "$2: the library runs from the container's path" grep -q " $IN/libksmpreload.so\$" "/proc/$t/maps"
	is "$(field "$S/stats" policy_source)/$(field "$S/stats" steerable)" "$IN/app.policy/1" \
		"$2: its policy, steerable"
	is "$(has_mg "$t" "$addr")" yes "$2: the policy advised the program's mmap"
	ctr_steer "$1" "$2"
}

# 1. rootless, root inside
spawn r1 setpriv --reuid "$U" --regid "$U" --clear-groups \
	unshare --user --map-root-user --mount --pid --kill-child --mount-proc \
	sh -c "$MOUNTS && exec env LD_PRELOAD=$PRE KSMP_POLICY=$IN/app.policy \"\$@\"" \
	"$OUT/app.policy" "$T" -n -A -s 521 -m 4
c=$(ctr_child "$r1_pid"); PIDS="$PIDS $c"; r1_pid=$c
steer r1 "rootless bind mount"

# ... and with host root's policy file, which root inside must refuse
setpriv --reuid "$U" --regid "$U" --clear-groups \
	unshare --user --map-root-user --mount \
	sh -c "$MOUNTS && LD_PRELOAD=$PRE KSMP_POLICY=$IN/app.policy exec true" \
	"$OUT/root.policy" 2> "$OUT/refused"
ok "host root's policy: refused inside, with the hint ($(head -c 300 "$OUT/refused"))" \
	grep -q "owned by uid 65534, not root.*host root show as this uid" "$OUT/refused"

# 2. remapped range, the container's root mounts, uid 1000 runs the program
unshare --user --pid --mount --kill-child --mount-proc sleep 3600 &
up=$!; PIDS="$PIDS $up"
h=$(ctr_child "$up"); PIDS="$PIDS $h"
echo "0 $R 65536" > "/proc/$h/uid_map"
echo "0 $R 65536" > "/proc/$h/gid_map"
nsenter --target "$h" --user --mount --setuid 0 --setgid 0 sh -c "$MOUNTS" "$OUT/root.policy"
spawn r2 nsenter --target "$h" --user --pid --mount --setuid 1000 --setgid 1000 \
	env LD_PRELOAD="$PRE" KSMP_POLICY="$IN/app.policy" "$T" -n -A -s 522 -m 4
c=$(ctr_child "$r2_pid"); PIDS="$PIDS $c"; r2_pid=$c
is "$(awk '/^Uid:/ {print $2}' "/proc/$r2_pid/status")" $((R + 1000)) "runAsUser 1000 is host uid $((R + 1000))"
steer r2 "remapped, uid 1000"

# 3. attach from the host; the target is attach's uninstrumented test
# program: in a sanitizer build mergefs_target carries the ASan runtime,
# whose prctl(PR_SET_MEMORY_MERGE, 0) at detach walks terabytes of shadow
# for minutes (and ksmd crawls over them meanwhile, starving other tests)
# (it holds its memory until its standard input ends: a fifo kept open)
mkfifo "$OUT/r3.in"
sleep 1000 > "$OUT/r3.in" &
PIDS="$PIDS $!"
spawn r3 sh -c 'exec "$@" < "$0"' "$OUT/r3.in" setpriv --reuid "$U" --regid "$U" --clear-groups \
	unshare --user --map-root-user --mount --pid --kill-child --mount-proc \
	"$KSMP_BUILDDIR/tests/attach/attach_target" hold 0x523 4
c=$(ctr_child "$r3_pid"); PIDS="$PIDS $c"; r3_pid=$c
"$K" attach --mode process "$r3_pid" > "$OUT/attach" 2>&1
ok "ksmpreload attach --mode process HOSTPID ($(head -c 200 "$OUT/attach"))" \
	grep -q 'ksm_merge_any: yes' "/proc/$r3_pid/ksm_stat"
is "$(field "$MNT/$r3_pid/stats" library)/$(field "$MNT/$r3_pid/stats" steerable)" 0/0 \
	"mergefs lists it, without the library (not steerable)"
"$K" detach "$r3_pid" > "$OUT/detach" 2>&1
ok "ksmpreload detach HOSTPID ($(head -c 200 "$OUT/detach"))" \
	grep -q 'ksm_merge_any: no' "/proc/$r3_pid/ksm_stat"
done_testing
