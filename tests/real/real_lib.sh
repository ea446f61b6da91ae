# real_lib.sh - shared by tests/real/real_quick.sh (make check) and
# tests/real/real_full.sh (make check-real): real programs' own test suites run
# four ways - without the library, with it under a policy that merges all
# it can, with it while mergefs toggles merge/unmerge of every such process
# every ~300 ms, and without it while `ksmpreload attach` attaches and
# detaches every process of the run over and over - and must give the same
# results.
#
#   real_setup                 temp dir, policy, mergefs mount (if possible)
#   real_python LABEL MODE MODULES...   Python's regression tests
#   real_stress LABEL MODE SECS STRESSORS...   stress-ng --verify
#   real_sqlite LABEL MODE ROWS  sqlite3 workload, prints a digest
# MODE: base | lib | toggle | attach. Each runner records its verdict in
# $RO/LABEL.MODE.{rc,sum} for real_compare.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"

RO=
MNT=
TOGGLER=
real_cleanup() {
	[ -n "$TOGGLER" ] && kill "$TOGGLER" 2>/dev/null && wait "$TOGGLER" 2>/dev/null
	if [ -n "$MNT" ]; then
		fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null
		rmdir "$MNT" 2>/dev/null
	fi
	[ -n "$RO" ] && rm -rf "$RO"
}

real_setup() {
	[ -f "$(ksmp_lib)" ] || skip_all "libksmpreload.so not built"
	# Python, sh, stress-ng and sqlite3 are not instrumented: with the ASan
	# runtime preloaded before the library, LeakSanitizer reports their
	# own leaks at exit and changes their exit status and timing, so the
	# with/without comparison means nothing there
	sanitized && skip_all "real programs' suites cannot be compared under the ASan runtime (their own leaks)"
	RO=$(mktemp -d /tmp/ksmp-real.XXXXXX)
	chmod 755 "$RO"
	trap real_cleanup EXIT
	trap 'exit 1' INT TERM HUP
	cat > "$RO/all.policy" <<'POL'
name    real-all
mode    regions
control yes
merge   any
POL
	chmod 644 "$RO/all.policy"
	LIB=$(ksmp_preload)
	W=$KSMP_BUILDDIR/tests/progs/mergefs_write
	HAVE_MERGEFS=0
	if [ "$(id -u)" -eq 0 ] && [ -c /dev/fuse ] && command -v fusermount3 >/dev/null 2>&1; then
		MNT=$(mktemp -d /tmp/ksmp-real-mnt.XXXXXX)
		if "$KSMP_BUILDDIR/mergefs/mergefs" -o allow_other,timeout=2000 "$MNT"; then
			HAVE_MERGEFS=1
		else
			rmdir "$MNT"; MNT=
		fi
	fi
}

# The toggler: every ~300 ms, write 0 (then 1, ...) to the merge file of
# every process that runs our policy. Each outcome goes to $RO/toggles.
real_toggler() {
	v=0
	while [ ! -e "$RO/stop" ]; do
		for d in "$MNT"/[0-9]*; do
			[ -f "$d/stats" ] || continue
			grep -q '^policy real-all$' "$d/stats" 2>/dev/null || continue
			"$W" "$d/merge" "$v" >> "$RO/toggles" 2>/dev/null
		done
		v=$((1 - v))
		sleep 0.3
	done
}
toggle_stop() {
	touch "$RO/stop"
	wait "$TOGGLER" 2>/dev/null
	TOGGLER=
}
# The attacher: every ~50 ms, each process of the run (its environment
# carries KSMP_REAL_RUN=$RO) is attached, in process mode and with the
# policy in regions mode by turns, and detached again. Each attach that
# was carried out adds a line to $RO/toggles; processes that end between
# the listing and the attach are refused, which is no fault.
real_attacher() {
	i=0
	while [ ! -e "$RO/stop" ]; do
		for e in $(grep -lxz "KSMP_REAL_RUN=$RO" /proc/[0-9]*/environ 2>/dev/null); do
			p=${e#/proc/}; p=${p%/environ}
			if [ $((i % 2)) -eq 0 ]; then am="--mode process"; else am="-p $RO/all.policy"; fi
			i=$((i + 1))
			if "$KSMP_BUILDDIR/cli/ksmpreload" attach $am "$p" > /dev/null 2>> "$RO/attach.err"; then
				echo OK >> "$RO/toggles"
				"$KSMP_BUILDDIR/cli/ksmpreload" detach "$p" > /dev/null 2>> "$RO/attach.err"
			fi
		done
		sleep 0.05
	done
}
# bg_start MODE / bg_stop MODE: the toggler or the attacher beside a run
bg_start() {
	case $1 in toggle|attach) ;; *) return 0 ;; esac
	rm -f "$RO/stop"
	: > "$RO/toggles"
	if [ "$1" = toggle ]; then real_toggler & else real_attacher & fi
	TOGGLER=$!
}
bg_stop() {
	case $1 in toggle|attach) toggle_stop ;; esac
}
# attach_ok: root or this uid may ptrace the runs (attach mode)
attach_ok() {
	[ -x "$KSMP_BUILDDIR/cli/ksmpreload" ] || return 1
	[ "$(id -u)" -eq 0 ] && return 0
	[ "$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0)" = 0 ]
}
# toggles_ok: how many toggles were carried out
toggles_ok() { grep -c '^OK$' "$RO/toggles" 2>/dev/null || true; }

# with MODE CMD...: run CMD the way MODE says
with() {
	m=$1; shift
	case $m in
	base) env -u LD_PRELOAD "$@" ;;
	attach) env -u LD_PRELOAD KSMP_REAL_RUN="$RO" "$@" ;;
	lib|toggle) env LD_PRELOAD="$LIB" KSMP_POLICY="$RO/all.policy" "$@" ;;
	esac
}

PY=${KSMP_REAL_PYTHON:-/usr/bin/python3.11}
have_pytests() { [ -x "$PY" ] && "$PY" -c 'import test.support, test.libregrtest' 2>/dev/null; }

# real_python LABEL MODE MODULES...: Python's regrtest with a junit report;
# the summary is every test case with its outcome (pass/fail/error/skip).
real_python() {
	label=$1; m=$2; shift 2
	d=$RO/$label.$m.d
	mkdir -p "$d"
	bg_start "$m"
	# KSMP_REAL_PY_IGNORE: test cases left out of every run (same set in
	# all three, so the comparison stays fair). None by default;
	# test_itimer_real once failed when a control command landed during
	# its signal.pause() (fixed: preload/wait.c, tests/preload/control_pause.sh).
	ign=
	for p in ${KSMP_REAL_PY_IGNORE-}; do ign="$ign --ignore $p"; done
	(cd "$d" && with "$m" "$PY" -m test -j2 --timeout 600 $ign --junit-xml "$d/junit.xml" "$@" \
		> "$d/out" 2>&1)
	echo $? > "$RO/$label.$m.rc"
	bg_stop "$m"
	junit_summary "$d/junit.xml" > "$RO/$label.$m.sum"
}

# junit_summary FILE: every test case of a junit report with its outcome
# (pass, failure, error, skipped), sorted.
junit_summary() {
	"$PY" - "$1" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception as e:
    print("no-junit", e)
    sys.exit(0)
out = []
for tc in root.iter("testcase"):
    st = "pass"
    for k in ("failure", "error", "skipped"):
        if tc.find(k) is not None:
            st = k
    out.append("%s.%s %s" % (tc.get("classname"), tc.get("name"), st))
out.sort()
print("\n".join(out))
PYEOF
}

# real_pytest LABEL MODE PACKAGE-TESTS...: a packaged pytest suite (numpy's
# own tests) with a junit report; the summary is every test case with its
# outcome, as for real_python.
real_pytest() {
	label=$1; m=$2; shift 2
	d=$RO/$label.$m.d
	mkdir -p "$d"
	bg_start "$m"
	(cd "$d" && with "$m" "$PY" -m pytest -q -p no:cacheprovider --junitxml "$d/junit.xml" \
		--pyargs "$@" > "$d/out" 2>&1)
	echo $? > "$RO/$label.$m.rc"
	bg_stop "$m"
	junit_summary "$d/junit.xml" > "$RO/$label.$m.sum"
}

# real_stress LABEL MODE SECS STRESSORS...: each stressor in turn with
# --verify; the summary is the stressor and its exit status.
real_stress() {
	label=$1; m=$2; secs=$3; shift 3
	: > "$RO/$label.$m.sum"
	rc=0
	bg_start "$m"
	for s in "$@"; do
		with "$m" stress-ng --"$s" 2 --verify --timeout "${secs}s" \
			--temp-path "$RO" > "$RO/$label.$m.$s.out" 2>&1
		r=$?
		echo "$s $r" >> "$RO/$label.$m.sum"
		[ $r -ne 0 ] && rc=$r
	done
	bg_stop "$m"
	echo $rc > "$RO/$label.$m.rc"
}

# real_sqlite LABEL MODE ROWS: a deterministic sqlite3 workload (inserts,
# index, updates, deletes, aggregates, integrity check); the summary is
# its output, digested.
real_sqlite() {
	label=$1; m=$2; rows=$3
	db=$RO/$label.$m.db
	rm -f "$db"
	bg_start "$m"
	with "$m" sqlite3 "$db" > "$RO/$label.$m.out" 2>&1 <<SQL
PRAGMA cache_size = -65536;
CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT, b BLOB);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $rows)
INSERT INTO t SELECT x, (x * 7919) % 1000, printf('row-%08d-%s', x, hex(x * 31)), zeroblob(200 + x % 300) FROM c;
CREATE INDEX tk ON t(k);
UPDATE t SET v = v || '-u' WHERE k % 3 = 0;
DELETE FROM t WHERE k % 11 = 5;
SELECT count(*), sum(k), sum(length(v)), sum(length(b)) FROM t;
SELECT k, count(*), max(v) FROM t GROUP BY k ORDER BY k LIMIT 20;
SELECT hex(v) FROM t WHERE id % 9973 = 1 ORDER BY id;
VACUUM;
PRAGMA integrity_check;
SQL
	echo $? > "$RO/$label.$m.rc"
	bg_stop "$m"
	md5sum < "$RO/$label.$m.out" | cut -c1-32 > "$RO/$label.$m.sum"
}

# real_judge LABEL MODE WHAT: two TAP lines - the run passed, and its
# summary equals the base run's
real_judge() {
	label=$1; m=$2; what=$3
	rc=$(cat "$RO/$label.$m.rc")
	brc=$(cat "$RO/$label.base.rc")
	is "$rc" "$brc" "$what ($m): same exit status as without the library ($brc)"
	if cmp -s "$RO/$label.base.sum" "$RO/$label.$m.sum"; then
		_tap_result 0 "$what ($m): same results, case by case ($(wc -l < "$RO/$label.$m.sum") lines)"
	else
		diff "$RO/$label.base.sum" "$RO/$label.$m.sum" | head -20 | sed 's/^/# /'
		_tap_result 1 "$what ($m): same results, case by case"
	fi
}
