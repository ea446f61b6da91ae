#!/bin/sh
# contain_self - tests/libsec/contain.sh, which runs every test of make
# check, ends and reports what a test leaves running (issue 10, item 11):
#  - a background process left by a passing test, by a failing test and
#    by a test killed with SIGKILL is reported ("Bail out!"), makes the
#    test fail, and is gone afterwards;
#  - as root with cgroup v2: also one that cleared its environment and
#    changed its uid; the test's cgroup is removed afterwards;
#  - a clean test passes unchanged (output, status) and costs little;
#  - tests/safety/security_ctl.sh, whose uid-65534 target outlived every make
#    check, leaves nothing now.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
C="$KSMP_SRCDIR/tests/libsec/contain.sh"
T=$(mktemp -d /tmp/ksmp-contain.XXXXXX)
chmod 755 "$T"
cleanup() {
	for f in "$T"/*.pid; do
		[ -f "$f" ] && kill -9 $(cat "$f") 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# fake tests: each writes the pids it leaves into NAME.pid
cat > "$T/leak_pass.sh" <<'EOF'
sleep 300 & echo $! > "$FAKE/leak_pass.pid"
echo "1..1"; echo "ok 1 - passes but leaks"
EOF
cat > "$T/leak_fail.sh" <<'EOF'
sleep 300 & echo $! > "$FAKE/leak_fail.pid"
echo "1..1"; echo "not ok 1 - fails and leaks"; exit 1
EOF
cat > "$T/leak_killed.sh" <<'EOF'
sleep 300 & echo $! > "$FAKE/leak_killed.pid"
echo "1..1"; kill -9 $$
EOF
cat > "$T/leak_hidden.sh" <<'EOF'
setpriv --reuid 65534 --regid 65534 --clear-groups env -i /bin/sleep 300 &
echo $! > "$FAKE/leak_hidden.pid"
echo "1..1"; echo "ok 1 - leaks a process without the tag"
EOF
cat > "$T/clean.sh" <<'EOF'
sleep 0.1 & wait
echo "1..2"; echo "ok 1 - clean"; echo "ok 2 - tag ${KSMP_TEST_TAG:+set}"
cat /proc/self/cgroup > "$FAKE/clean.cgroup"
exit 0
EOF
cat > "$T/status.sh" <<'EOF'
echo "1..1"; echo "not ok 1 - exit 3"; exit 3
EOF

run() { # NAME: run fake test NAME under contain.sh; sets out, rc
	rc=0
	out=$(FAKE=$T KSMP_CONTAIN_GRACE=5 sh "$C" sh "$T/$1.sh" 2>&1) || rc=$?
}
running() { # PID: exists and is not a zombie waiting for its reaper
	s=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)
	[ -n "$s" ] && [ "$s" != Z ] && [ "$s" != X ]
}
gone() { # NAME: every pid in NAME.pid has exited
	[ -s "$T/$1.pid" ] || return 1
	for p in $(cat "$T/$1.pid"); do
		i=0
		while running "$p" && [ $i -lt 20 ]; do sleep 0.05; i=$((i + 1)); done
		running "$p" && return 1
	done
	return 0
}
reported() { # NAME: contain failed the test and named the process
	[ "$rc" -ne 0 ] || return 1
	printf '%s\n' "$out" | grep -q "^Bail out! 1 process(es) left behind by $1.sh" || return 1
	printf '%s\n' "$out" | grep -q "^# left behind by $1.sh: pid $(cat "$T/$1.pid") .*sleep 300"
}

cgroup=no
if [ "$(id -u)" -eq 0 ] && awk '$3 == "cgroup2" { f = 1 } END { exit !f }' /proc/self/mounts; then
	cgroup=yes
fi

plan 14
for t in leak_pass leak_fail leak_killed; do
	run $t
	ok "$t: reported, and the test fails (status $rc)" reported $t
	ok "$t: the process it left is gone" gone $t
done

if [ $cgroup = yes ] && command -v setpriv >/dev/null 2>&1; then
	run leak_hidden
	ok "leak_hidden (env -i, uid 65534): reported through the cgroup (status $rc)" reported leak_hidden
	ok "leak_hidden: the process is gone" gone leak_hidden
else
	skip_env 2 "needs root, cgroup v2 and setpriv"
fi

start=$(date +%s%N)
run clean
ms=$(( ($(date +%s%N) - start) / 1000000 ))
is "$rc" 0 "a clean test passes"
is "$(printf '%s\n' "$out" | tr '\n' '|')" "1..2|ok 1 - clean|ok 2 - tag set|" \
	"its output passes through unchanged, the tag reaches it"
ok "containing it costs little (${ms} ms for a test of 100 ms)" test "$ms" -lt 5000
if [ $cgroup = yes ]; then
	cgpath=$(sed -n 's/^0:://p' "$T/clean.cgroup")
	mnt=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
	case $cgpath in
	*/ksmp-test.*) ok "it ran in a cgroup of its own, removed afterwards ($cgpath)" \
		test ! -d "$mnt$cgpath" ;;
	*) ok "it ran in a cgroup of its own (got '$cgpath')" false ;;
	esac
else
	skip_env 1 "needs root and cgroup v2"
fi
run status
is "$rc" 3 "the test's exit status passes through"

# the regression of item 11: security_ctl's target ran on as uid 65534
if [ "$(id -u)" -eq 0 ] && [ -x "$KSMP_BUILDDIR/tests/progs/security_ctl" ]; then
	rc=0
	out=$(sh "$C" sh "$KSMP_SRCDIR/tests/safety/security_ctl.sh" 2>&1) || rc=$?
	printf '%s\n' "$out" | grep '^# left behind\|^Bail out' | sed 's/^/# /'
	is "$rc/$(printf '%s\n' "$out" | grep -c '^Bail out')" "0/0" \
		"tests/safety/security_ctl.sh passes and leaves nothing running"
else
	skip_env 1 "needs root and tests/progs/security_ctl"
fi
done_testing
