#!/bin/sh
# block_kind - regression test (issue 10, item 8): mergefs maps a state
# block only if it is a memfd on plain tmpfs sealed against resizing, as
# the library makes it (F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_SEAL). Before,
# it mapped any memfd of that name: one the process could shrink under
# it (caught only by the SIGBUS guard), or a hugetlb one, over whose pages
# the guard's remap fails (EINVAL), which would kill mergefs.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/mergefs_common.sh"
mfs_init root fuse
mfs_mount allow_other,timeout=1000 || { echo "Bail out! mount failed"; exit 1; }

start sealed -s 661 -K 64
start unsealed -s 662 -K 64 -B unsealed
start huge -s 663 -K 64 -B hugetlb
plan 5
is "$(field "$MNT/$sealed_pid/stats" library)" 1 "a sealed memfd on tmpfs (the library's) is attached"
is "$(field "$MNT/$unsealed_pid/stats" library)" 0 "an unsealed one is refused"
is "$("$W" "$MNT/$unsealed_pid/merge" 0)" EOPNOTSUPP "and cannot be steered through it (as without the library: only an attach could be undone)"
if grep -q '^ready' "$OUT/huge"; then
	is "$(field "$MNT/$huge_pid/stats" library)" 0 "a hugetlb memfd is refused"
else
	skip 1 "no huge pages to back a hugetlb memfd (vm.nr_hugepages is 0)"
fi
ok "mergefs is alive" grep -q '^processes_library ' "$MNT/stats"
done_testing
