#!/bin/sh
# security_ctl - the control channel's promises (SECURITY.md, "Control
# channel"), tested against the real library, without mergefs:
#  - another uid cannot signal the target at all (EPERM);
#  - the same uid without CAP_SYS_ADMIN cannot open the state block
#    (/proc/PID/map_files), and the block is not in the fd table;
#  - forged signals (wrong value, no pending command, plain kill) are
#    counted as rejected and carry nothing out; the target survives.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
need_root
command -v setpriv >/dev/null 2>&1 || skip_all_env "setpriv (util-linux) not installed"
B=$KSMP_BUILDDIR
H=$B/tests/progs/security_ctl
[ -f "$(ksmp_lib)" ] || skip_all "libksmpreload.so not built"

OUT=$(mktemp -d /tmp/ksmp-sec.XXXXXX)
chmod 755 "$OUT"
PIDS=
cleanup() {
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$OUT"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

cat > "$OUT/t.policy" <<'POL'
name    security-ctl
mode    regions
control yes
merge   mmap min=1M
POL
chmod 644 "$OUT/t.policy"
as() { u=$1; shift; setpriv --reuid "$u" --regid "$u" --clear-groups "$@"; }

# A simple command, not the function "as": $! is then the target itself
# (setpriv and env exec it), not a subshell whose kill would leave the
# target running as uid 65534 after the test (issue 10, item 11).
setpriv --reuid 65534 --regid 65534 --clear-groups \
	env LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY="$OUT/t.policy" \
	"$H" hold 4 501 > "$OUT/target" &
PIDS="$PIDS $!"
i=0; while [ ! -s "$OUT/target" ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
pid=$(awk '/^ready/ {print $2}' "$OUT/target")
[ -n "$pid" ] || { echo "1..1"; echo "not ok 1 - target did not start"; exit 1; }
PIDS="$PIDS $pid"
f() { "$H" state "$pid" | awk -v k="$1" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}'; }

plan 14
sig=$(f signo)
ok "the library installed a control agent (signo $sig)" test "${sig:-0}" -gt 0
is "$(f uid)" 65534 "the block records the owner"
rej0=$(f rejected); cmd0=$(f commands); ack0=$(f ack)

# another uid: the kernel refuses the signal itself
is "$(as 65533 "$H" sigqueue "$pid" "$sig" $((ack0 + 1)))" EPERM "a second uid cannot sigqueue the control signal"
is "$(as 65533 "$H" kill "$pid" "$sig")" EPERM "nor kill(2) it"

# the same uid, no CAP_SYS_ADMIN: the block stays out of reach
is "$(as 65534 "$H" open "$pid")" EPERM "the same uid cannot open the state block via map_files"
is "$("$H" fds "$pid")" 0 "the block is not in the target's fd table"

# forged signals from the same uid: counted, ignored
is "$(as 65534 "$H" sigqueue "$pid" "$sig" 12345)" OK "forged sigqueue with a wrong value is delivered"
is "$(as 65534 "$H" sigqueue "$pid" "$sig" $((ack0 + 1)))" OK "forged sigqueue with the next value, nothing pending"
is "$(as 65534 "$H" kill "$pid" "$sig")" OK "plain kill(2) of the control signal"
# root, wrong value: uid is fine, the sequence is not
is "$("$H" sigqueue "$pid" "$sig" $((ack0 + 7)))" OK "root sigqueue with a wrong value"
i=0; while [ "$(f rejected)" -lt $((rej0 + 4)) ] && [ $i -lt 200 ]; do sleep 0.01; i=$((i + 1)); done
is "$(f rejected)" $((rej0 + 4)) "all four forged signals were counted as rejected"
is "$(f commands)/$(f ack)/$(f merge)" "$cmd0/$ack0/1" "none of them was carried out (commands, ack, merge state)"
ok "the target is still alive" kill -0 "$pid"
is "$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status")" S "and still sleeping normally"
done_testing
