#!/bin/sh
# Issue 12 items 5 and 8: `ksmpreload estimate NAME` matches as pgrep does
# (python3 finds a process named python3.11), and --cgroup / --unit pick
# the processes of a cgroup v2 directory or of a systemd unit's cgroup
# (made here: a directory named like a unit; removed at the end).
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
need_root
K=$KSMP_BUILDDIR/cli/ksmpreload
T=$(mktemp -d /tmp/ksmp-hosts-est.XXXXXX)
CG=
P1= P2=
cleanup() {
	for p in $P1 $P2; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	[ -n "$CG" ] && rmdir "$CG/sub" "$CG" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=0"; export ASAN_OPTIONS
plan 10

# a process whose comm and executable are "ksmphostsest3.11"
cp /bin/sleep "$T/ksmphostsest3.11"
"$T/ksmphostsest3.11" 60 & P1=$!
sleep 0.2
"$K" estimate --no-progress --by process ksmphostsest3 > "$T/out" 2>&1; rc=$?
is "$rc" 0 "estimate ksmphostsest3 finds ksmphostsest3.11 (a name prefix, as pgrep)"
ok "... and reports that process" grep -q "^$P1 " "$T/out"
"$K" estimate --no-progress ksmphostsest4 > "$T/out" 2>&1; rc=$?
is "$rc" 1 "a name that no process starts with: exit 1"

# cgroup v2: /sys/fs/cgroup, or its unified directory on a hybrid host
root=/sys/fs/cgroup
[ -e $root/cgroup.procs ] || root=/sys/fs/cgroup/unified
if [ -e $root/cgroup.procs ] && mkdir "$root/ksmp-hosts-est$$.service" 2>/dev/null; then
	CG=$root/ksmp-hosts-est$$.service
	mkdir "$CG/sub"
	sleep 60 & P2=$!
	echo "$P2" > "$CG/sub/cgroup.procs"
	"$K" estimate --no-progress --by process --cgroup "ksmp-hosts-est$$.service" > "$T/out" 2>&1; rc=$?
	is "$rc" 0 "--cgroup (relative): exit 0"
	ok "... finds the process of the cgroup below it" grep -q "^$P2 " "$T/out"
	"$K" estimate --no-progress --by process --unit "ksmp-hosts-est$$" > "$T/out" 2>&1; rc=$?
	ok "--unit NAME finds NAME.service's process (rc $rc)" grep -q "^$P2 " "$T/out"
	ok "... and no other" sh -c "! grep -q '^$P1 ' '$T/out'"
	kill "$P2"; wait "$P2" 2>/dev/null; P2=
else
	skip 4 "no writable cgroup v2 hierarchy"
fi
# JSON passes UTF-8 through: a process named café
cp /bin/sleep "$T/ksmpcafé"
"$T/ksmpcafé" 60 & P3=$!
sleep 0.2
"$K" estimate --json ksmpcaf > "$T/json" 2>/dev/null
ok "--json: the name café comes out as UTF-8, not byte escapes" grep -q '"ksmpcafé"' "$T/json"
ok "... and the output is valid JSON" python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$T/json"
kill "$P3"; wait "$P3" 2>/dev/null
"$K" estimate --unit "ksmp-no-such-unit$$" > "$T/out" 2>&1; rc=$?
ok "--unit of no cgroup: exit 1, said (rc $rc)" grep -q 'no cgroup of that name' "$T/out"
done_testing
