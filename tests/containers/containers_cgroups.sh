#!/bin/sh
# containers_cgroups - mergefs's per-cgroup view with containers made as
# engines make them: each in a user and pid namespace (unshare, nsenter)
# and a cgroup of its own named NAME.scope, as systemd-run, podman and
# Docker (systemd driver) name them. Cgroup A holds two rootless
# containers of one uid whose 4 MiB merge with each other, cgroup B a
# remapped rootful one that merges with nobody. Then: /PID/stats name the
# cgroup and unit; /cgroups has one line each, with the processes counted
# and A's merged and saved bytes, B's none; in one /metrics scrape the
# cgroup series are the sums of the process series and promtool accepts
# it; the uid that owns A sees A's line and not B's.
# Runs under tests/ksm-hold (fast ksmd, knobs restored).
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/mergefs_common.sh"
. "$KSMP_SRCDIR/tests/containers/ctr_common.sh"
need_root
need_ksm
[ -r /proc/self/ksm_stat ] || skip_all_env "kernel has no /proc/PID/ksm_stat"
# the tree mergefs reads: systemd's (name=systemd of cgroup v1, on a
# hybrid host), else the unified one
CG2=$(awk '$3 == "cgroup" && $4 ~ /(^|,)name=systemd(,|$)/ { print $2; exit }' /proc/self/mounts)
CGLINE=':name=systemd:'
if [ -z "$CG2" ]; then
	CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
	CGLINE='^0::'
fi
[ -n "$CG2" ] || skip_all_env "neither cgroup v2 nor a name=systemd hierarchy mounted"
ksm_fast "$@"
ctr_init
U=$CTR_UID
R=$((U + 100000))
here=$(grep "$CGLINE" /proc/self/cgroup | head -n 1 | cut -d: -f3-)
here=${here%/}
CGA=ksmp-ctr-a-$$.scope
CGB=ksmp-ctr-b-$$.scope
cg_cleanup() {
	mfs_cleanup
	for d in "$CG2$here/$CGA" "$CG2$here/$CGB"; do
		i=0; while [ -d "$d" ] && ! rmdir "$d" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1; i=$((i + 1)); done
	done
}
trap cg_cleanup EXIT
mkdir "$CG2$here/$CGA" "$CG2$here/$CGB" 2>/dev/null ||
	skip_all_env "cannot create cgroups under $CG2$here"

printf 'name ctr-cgroups\nmode regions\ncontrol yes\nmerge mmap min=1M\n' > "$OUT/p"
cp "$OUT/p" "$OUT/pr"
chown "$U" "$OUT/p"; chown "$R" "$OUT/pr"; chmod 644 "$OUT/p" "$OUT/pr"

plan 11
mfs_mount allow_other || { echo "1..0 # mount failed"; exit 1; }
seed=$(( $$ % 100000 + 727272 ))
T=$B/tests/progs/mergefs_target
# shellcheck disable=SC2046
{
	ctr_rootless a1 "$U" 0 $(lib_env "$OUT/p") "$T" -n -A -s "$seed" -m 4
	ctr_rootless a2 "$U" 0 $(lib_env "$OUT/p") "$T" -n -A -s "$seed" -m 4
	ctr_mapped b1 "0 $R 65536" 0 $(lib_env "$OUT/pr") "$T" -n -A -s $((seed + 1)) -m 4
}
for p in $a1_pid $a2_pid; do echo "$p" > "$CG2$here/$CGA/cgroup.procs"; done
echo "$b1_pid" > "$CG2$here/$CGB/cgroup.procs"

is "$(field "$MNT/$a1_pid/stats" cgroup)" "$here/$CGA" "stats: the container's cgroup"
is "$(field "$MNT/$a1_pid/stats" unit)" "$CGA" "stats: and its unit"

pages=$(( 4 * 1048576 / $(getconf PAGESIZE) ))
merging() { sed -n 's/^ksm_merging_pages //p' "/proc/$1/ksm_stat"; }
i=0; while { [ "$(merging "$a1_pid")" -lt "$pages" ] || [ "$(merging "$a2_pid")" -lt "$pages" ]; } &&
	[ $i -lt 300 ]; do sleep 0.05; i=$((i + 1)); done
diag "merging pages: $(merging "$a1_pid") and $(merging "$a2_pid") of $pages each"

cat "$MNT/cgroups" > "$OUT/cg"
line() { awk -v c="$here/$1" '$6 == c' "$OUT/cg"; }
la=$(line "$CGA"); lb=$(line "$CGB")
diag "A: $la"; diag "B: $lb"
is "$(echo "$la" | awk '{print $3, $4, $5}')" "2 2 $CGA" "cgroups: A has 2 processes, 2 with the library"
ok "A's merged bytes cover both buffers" [ "$(echo "$la" | awk '{print $2}')" -ge $((2 * pages * $(getconf PAGESIZE))) ]
ok "A saved something, no more than it merged" \
	sh -c "echo '$la' | awk '{ exit !(\$1 > 0 && \$1 <= \$2) }'"
is "$(echo "$lb" | awk '{print $3, $4, $5}')" "1 1 $CGB" "cgroups: B has 1 process"
ok "B, alone with its pattern, saved far less than A" \
	[ "$(echo "$lb" | awk '{print $1}')" -lt $(( $(echo "$la" | awk '{print $1}') / 4 )) ]

cat "$MNT/metrics" > "$OUT/prom"
sum=$(awk -v c="cgroup=\"$here/$CGA\"" 'index($0, "mergefs_process_saved_bytes{") == 1 && index($0, c) {
	s += $NF } END { print s + 0 }' "$OUT/prom")
cg=$(awk -v c="mergefs_cgroup_saved_bytes{cgroup=\"$here/$CGA\",unit=\"$CGA\"}" '$1 == c { print $2 }' "$OUT/prom")
is "$cg" "$sum" "metrics: A's cgroup series is the sum of its processes' (one scrape)"
if command -v promtool >/dev/null 2>&1; then
	promtool check metrics < "$OUT/prom" > "$OUT/lint" 2>&1
	ok "promtool check metrics: clean ($(head -c 200 "$OUT/lint"))" test $? -eq 0 -a ! -s "$OUT/lint"
else
	skip_env 1 "promtool not installed (Debian package prometheus)"
fi

as_uid "$U" cat "$MNT/cgroups" > "$OUT/cgu" 2>&1
ok "uid $U sees its containers' cgroup" grep -q " $here/$CGA\$" "$OUT/cgu"
ok "and not another uid's" sh -c "! grep -q ' $here/$CGB\$' '$OUT/cgu'"
done_testing
