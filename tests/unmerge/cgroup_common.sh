# cgroup_common.sh - a memory cgroup of the test's own for the unmerge
# tests (sourced after tap.sh; not a test itself).
#
#   cg_find        make the child group $CG (cgroup v1 memory controller,
#                  or cgroup v2 with memory enabled beside us); sets V (1
#                  or 2), LIM and USE (its limit and usage files); 1 when
#                  there is none
#   cg_remove      remove $CG once its processes are gone (call after
#                  killing them)
#   ooms           the group's oom_kill count
#   usage          the group's memory use, bytes
#   cg_exec CMD... exec CMD inside $CG: only as a background job (spawn,
#                  at_start), whose pid it keeps
CG=
cg_find() {
	# mountinfo: ... MOUNTPOINT ... - FSTYPE SOURCE SUPEROPTS
	mnt=$(awk '{ for (i = 7; $i != "-"; i++); if ($(i+1) == "cgroup" && ("," $(i+3) ",") ~ /,memory,/) { print $5; exit } }' /proc/self/mountinfo)
	if [ -n "$mnt" ]; then
		V=1; rel=$(sed -n 's/^[0-9]*:\([^:]*,\)\{0,1\}memory\(,[^:]*\)\{0,1\}:\(.*\)/\3/p' /proc/self/cgroup)
	else
		mnt=$(awk '{ for (i = 7; $i != "-"; i++); if ($(i+1) == "cgroup2") { print $5; exit } }' /proc/self/mountinfo)
		[ -n "$mnt" ] && grep -qw memory "$mnt/cgroup.controllers" 2>/dev/null || return 1
		V=2; rel=$(sed -n 's/^0:://p' /proc/self/cgroup)
		grep -qw memory "$mnt${rel%/*}/cgroup.subtree_control" 2>/dev/null || return 1
		rel=${rel%/*}	# a v2 process lives in a leaf: make the group beside us
	fi
	CG=$mnt${rel%/}/ksmp-unmerge.$$
	mkdir "$CG" || { CG=; return 1; }
	if [ "$V" = 1 ]; then LIM=memory.limit_in_bytes USE=memory.usage_in_bytes
	else LIM=memory.max USE=memory.current; fi
}
cg_remove() {
	[ -n "$CG" ] || return 0
	i=0; while [ -s "$CG/cgroup.procs" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	rmdir "$CG" 2>/dev/null || echo "# could not remove $CG" >&2
}
ooms() { if [ "$V" = 1 ]; then sed -n 's/^oom_kill //p' "$CG/memory.oom_control"
	else sed -n 's/^oom_kill //p' "$CG/memory.events"; fi; }
usage() { cat "$CG/$USE"; }
cg_exec() { exec sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' - "$CG" "$@"; }
