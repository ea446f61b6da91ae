#!/bin/sh
# contain.sh - run one test of the suite so that nothing it starts outlives
# it, and fail the test when something would have (issue 10, item 11).
#
#   contain.sh PROGRAM [ARGS...]        (make check's *LOG_COMPILER)
#
# Every process the test starts is marked, twice:
#  - KSMP_TEST_TAG=<unique> in its environment, inherited through fork,
#    exec, setpriv, unshare (a process that clears its environment loses it);
#  - as root, where cgroup v2 is mounted: a cgroup of the test's own, which
#    no process can leave without root writing cgroup.procs.
# After the test has exited (passed, failed, or killed by a signal), its
# processes get up to 2 s to finish exiting; any still there are listed
# ("# left behind: ..."), killed, and the test fails with "Bail out!" and
# a non-zero status. The test's own status and output pass through.
#
# KSMP_CONTAIN_CGROUP=0 turns the cgroup off (environment tag only);
# KSMP_CONTAIN_GRACE is the time left to exit, in tenths of a second (20).
set -u
[ $# -ge 1 ] || { echo "usage: contain.sh PROGRAM [ARGS...]" >&2; exit 2; }
for a in "$@"; do name=${a##*/}; done
tag="ksmp-test.$$.$(date +%s%N)"
cg=
if [ "$(id -u)" -eq 0 ] && [ "${KSMP_CONTAIN_CGROUP:-1}" != 0 ]; then
	mnt=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts 2>/dev/null)
	if [ -n "$mnt" ] && mkdir "$mnt/$tag" 2>/dev/null; then cg=$mnt/$tag; fi
fi

# The tag goes to the test only, not to this shell: the helpers below
# (grep, sort) must not find themselves.
sig=
trap 'sig=1' INT TERM HUP
if [ -n "$cg" ]; then
	env KSMP_TEST_TAG="$tag" sh -c \
		'echo $$ > "$1/cgroup.procs" 2>/dev/null; shift; exec "$@"' \
		contain "$cg" "$@"
else
	env KSMP_TEST_TAG="$tag" "$@"
fi
rc=$?

survivors() {
	{
		[ -z "$cg" ] || cat "$cg/cgroup.procs" 2>/dev/null
		grep -lsxz "KSMP_TEST_TAG=$tag" /proc/[0-9]*/environ 2>/dev/null |
			sed -n 's|^/proc/\([0-9]*\)/environ$|\1|p'
	} | sort -un
}
describe() { # PID: its uid, state and command line, for the report
	u=$(awk '/^Uid:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
	s=$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
	c=$(tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | cut -c1-200)
	echo "# left behind by $name: pid $1 uid ${u:-?} state ${s:-?}: $c"
}

left=$(survivors)
i=0
while [ -n "$left" ] && [ $i -lt "${KSMP_CONTAIN_GRACE:-20}" ]; do
	sleep 0.1
	i=$((i + 1))
	left=$(survivors)
done
if [ -n "$left" ]; then
	n=0
	for p in $left; do describe "$p"; n=$((n + 1)); done
	i=0
	while [ -n "$left" ] && [ $i -lt 50 ]; do
		if [ -n "$cg" ] && [ -e "$cg/cgroup.kill" ]; then
			echo 1 > "$cg/cgroup.kill" 2>/dev/null
		fi
		for p in $left; do kill -9 "$p" 2>/dev/null; done
		sleep 0.1
		i=$((i + 1))
		left=$(survivors)
	done
	[ -z "$left" ] || echo "# could not kill: $left"
	echo "Bail out! $n process(es) left behind by $name (killed now)"
	[ "$rc" -ne 0 ] || rc=1
fi
if [ -n "$cg" ]; then
	i=0
	while ! rmdir "$cg" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ ! -d "$cg" ] || echo "# cgroup $cg could not be removed"
fi
[ -z "$sig" ] || [ "$rc" -ne 0 ] || rc=130
exit "$rc"
