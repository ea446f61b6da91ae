#!/bin/sh
# mergefs_lib - mergefs with the real libksmpreload.so: a program under the
# library shows up steerable with its policy and regions; unmerge and
# re-merge reach it (mg in smaps); a process owned by another uid can be
# steered by that uid but not by a third one.
. "${KSMP_SRCDIR:-$(dirname "$0")/..}/tests/tap.sh"
need_root
need_fuse
command -v setpriv >/dev/null 2>&1 || skip_all_env "setpriv (util-linux) not installed"
B=$KSMP_BUILDDIR
P=$B/tests/progs
W=$P/mergefs_write
[ -f "$(ksmp_lib)" ] || skip_all "libksmpreload.so not built"

MNT=$(mktemp -d /tmp/mergefs-test.XXXXXX)
OUT=$(mktemp -d /tmp/mergefs-out.XXXXXX)
chmod 755 "$OUT"
PIDS=
cleanup() {
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null
	rmdir "$MNT" 2>/dev/null
	rm -rf "$OUT"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

cat > "$OUT/t.policy" <<'POL'
name    mergefs-libtest
mode    regions
control yes
merge   mmap min=1M
POL
chmod 644 "$OUT/t.policy"

# start NAME [setpriv args --] ARGS...: the target under the library
start() {
	name=$1; shift
	env LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY="$OUT/t.policy" "$@" > "$OUT/$name" &
	pid=$!
	PIDS="$PIDS $pid"
	eval "${name}_pid=$pid"
	i=0; while [ ! -s "$OUT/$name" ] && [ $i -lt 300 ]; do sleep 0.01; i=$((i + 1)); done
}
has_mg() {
	a=$(printf '%x' "$2")
	awk -v a="$a" '$1 ~ "^"a"-" {f=1; next} f && /^VmFlags:/ {print (/ mg/ ? "yes" : "no"); exit}' "/proc/$1/smaps"
}
field() { sed -n "s/^$2 //p" "$1" | head -n 1; }

plan 12
"$B/mergefs/mergefs" -o allow_other,timeout=2000 "$MNT" || { echo "1..0 # mount failed"; exit 1; }
start a "$P/mergefs_target" -n -A -s 201 -m 8
addr=$(awk '{print $2}' "$OUT/a")
S=$MNT/$a_pid
cat "$S/stats" > "$OUT/stats" 2>/dev/null
is "$(field "$OUT/stats" library)/$(field "$OUT/stats" steerable)" 1/1 "program under the library is steerable"
is "$(field "$OUT/stats" policy)" mergefs-libtest "stats name the policy"
ok "policy file shows the source" grep -q "^source $OUT/t.policy\$" "$S/policy"
ok "regions lists the program's mmap" grep -q "^$(printf '%#x' "$addr")-.* mmap " "$S/regions"
is "$(has_mg "$a_pid" "$addr")" yes "the library advised it"
ok "echo 0 > merge" sh -c "echo 0 > '$S/merge'"
is "$(has_mg "$a_pid" "$addr")/$(cat "$S/merge")" no/0 "unmerged inside the program"
ok "echo 1 > merge" sh -c "echo 1 > '$S/merge'"
is "$(has_mg "$a_pid" "$addr")/$(cat "$S/merge")" yes/1 "merged again"

# ownership: uid 65534 owns the target
start b setpriv --reuid 65534 --regid 65534 --clear-groups "$P/mergefs_target" -n -A -s 202 -m 2
as() { u=$1; shift; setpriv --reuid "$u" --regid "$u" --clear-groups "$@"; }
is "$(as 65534 "$W" "$MNT/$b_pid/merge" 0)" OK "the owner may unmerge its process"
is "$(as 65533 "$W" "$MNT/$b_pid/merge" 1)" EACCES "a third uid may not"
ok "and the owner may read its stats" sh -c "setpriv --reuid 65534 --regid 65534 --clear-groups cat '$MNT/$b_pid/stats' | grep -q '^library 1'"
done_testing
