#!/bin/sh
# ksmpreload estimate: usage errors exit 2, --help goes to stdout; a pid
# that cannot be read (EACCES for another uid, a dead pid, a zombie, an
# unknown NAME) is reported on stderr and skipped, the others are still
# reported, and the exit status is 1.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
ksmp="$KSMP_BUILDDIR/cli/ksmpreload"
[ -x "$ksmp" ] || skip_all "not built"
est() { "$ksmp" estimate "$@"; }
command -v python3 >/dev/null 2>&1 || skip_all_env "python3 not installed"

tmp=$(mktemp -d) || exit 1
chmod 755 "$tmp"
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 1' INT TERM
jpids() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join(str(p["pid"]) for p in d["processes"]))' "$1" 2>&1; }

est >/dev/null 2>&1; is "$?" 2 "no pid: exit 2"
est --frobnicate 1 >/dev/null 2>&1; is "$?" 2 "unknown option: exit 2"
est --by colour 1 >/dev/null 2>&1; is "$?" 2 "bad --by: exit 2"
est --chunk 12Q 1 >/dev/null 2>&1; is "$?" 2 "bad --chunk: exit 2"
out=$(est --help 2>/dev/null); rc=$?
is "$rc" 0 "--help exits 0"
case $out in *"Usage: ksmpreload estimate"*) r=0 ;; *) r=1 ;; esac
ok "--help prints the usage on stdout" [ $r -eq 0 ]

sleep 60 & live=$!; pids="$pids $live"
sleep 0 & dead=$!; wait $dead
# a zombie: its parent (exec'd into sleep) never reaps it
sh -c 'sleep 0 & exec sleep 60' & zparent=$!; pids="$pids $zparent"
n=0; zombie=""
while [ $n -lt 100 ] && [ -z "$zombie" ]; do
	for c in $(cat /proc/$zparent/task/$zparent/children 2>/dev/null); do
		grep -q '^State:.*Z' /proc/$c/status 2>/dev/null && zombie=$c
	done
	n=$((n + 1)); [ -n "$zombie" ] || sleep 0.05
done

est --json $dead $live >"$tmp/o" 2>"$tmp/e"; rc=$?
is "$rc" 1 "a dead pid: exit 1"
ok "a dead pid: 'no such process' on stderr" grep -q "pid $dead: no such process" "$tmp/e"
is "$(jpids "$tmp/o")" "$live" "a dead pid: the live one is still reported"

if [ -n "$zombie" ]; then
	est --json $zombie $live >"$tmp/o" 2>"$tmp/e"; rc=$?
	is "$rc" 1 "a zombie: exit 1"
	ok "a zombie: reported as gone" grep -Eq "pid $zombie: (vanished|no such process)" "$tmp/e"
	is "$(jpids "$tmp/o")" "$live" "a zombie: the live one is still reported"
else
	skip 3 "could not make a zombie"
fi

est --json no-such-program-xyz $live >"$tmp/o" 2>"$tmp/e"; rc=$?
is "$rc" 1 "unknown NAME: exit 1"
ok "unknown NAME: said on stderr" grep -q "no process named 'no-such-program-xyz'" "$tmp/e"

# Another uid: EACCES for root's process, its own process is read.
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null 2>&1; then
	skip_env 4 "needs root and setpriv for the EACCES checks"
else
	sp="setpriv --reuid 65534 --regid 65534 --clear-groups"
	$sp sleep 60 & mine=$!; pids="$pids $mine"
	sleep 0.2
	# the build tree must be reachable for uid 65534
	if ! $sp test -x "$ksmp"; then
		skip_env 4 "uid 65534 cannot run $ksmp"
	else
		$sp env ${KSMP_ASAN_RUNTIME:+ASAN_OPTIONS=detect_leaks=0} \
			"$ksmp" estimate --json $live $mine >"$tmp/o" 2>"$tmp/e"; rc=$?
		is "$rc" 1 "uid 65534 on root's process: exit 1"
		ok "EACCES reported as permission denied" grep -q "pid $live: permission denied" "$tmp/e"
		is "$(jpids "$tmp/o")" "$mine" "its own process is still read"
		err=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join("%d:%d" % (e["pid"], e["errno"]) for e in d["errors"]))' "$tmp/o" 2>&1)
		is "$err" "$live:13" "JSON lists the error with errno 13"
	fi
fi
sed 's/^/# stderr: /' "$tmp/e"
plan "$tap_n"
done_testing
