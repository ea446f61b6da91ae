# tests/unmerge: unmerging checked against the memory left in the host and
# the target's memory cgroup (issue 14), with real KSM and real cgroups.
TESTS += tests/unmerge/unmerge_oom.sh tests/unmerge/detach_headroom.sh
EXTRA_DIST += tests/unmerge/unmerge_oom.sh tests/unmerge/detach_headroom.sh \
	tests/unmerge/cgroup_common.sh
