#!/bin/sh
# mergefs_lib - mergefs with the real libksmpreload.so: a program under the
# library shows up steerable with its policy and regions; unmerge and
# re-merge reach it (mg in smaps); a process owned by another uid can be
# steered by that uid but not by a third one.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/mergefs_common.sh"
mfs_init root fuse setpriv
[ -f "$(ksmp_lib)" ] || skip_all "libksmpreload.so not built"
chmod 755 "$OUT"

cat > "$OUT/t.policy" <<'POL'
name    mergefs-libtest
mode    regions
control yes
merge   mmap min=1M
POL
chmod 644 "$OUT/t.policy"

# start NAME [setpriv args --] ARGS...: the target under the library
start() {
	lname=$1; shift
	spawn "$lname" env LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY="$OUT/t.policy" "$@"
}

plan 21
mfs_mount allow_other,timeout=2000 || { echo "1..0 # mount failed"; exit 1; }
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

# operator ranges through the library's engine: recorded in regions
len=$(awk '{print $3}' "$OUT/a")
hex=$(printf '%#x' "$addr")
is "$("$W" "$S/regions" "unmerge $addr $len")" OK "unmerge ADDR LEN"
ok "regions shows the range unmerged" grep -q "^$hex-.* unmerged\$" "$S/regions"
is "$(has_mg "$a_pid" "$addr")" no "and the kernel agrees (no mg)"
is "$("$W" "$S/regions" "merge $addr $len")" OK "merge ADDR LEN"
ok "regions shows it mergeable again" grep -q "^$hex-.* mergeable\$" "$S/regions"
# a mapping the policy left alone (mmap min=1M): the range is added
start sm "$P/mergefs_target" -n -A -s 203 -K 512
sa=$(awk '{print $2}' "$OUT/sm")
is "$(has_mg "$sm_pid" "$sa")" no "a 512 KiB mmap is not advised by the policy"
is "$("$W" "$MNT/$sm_pid/regions" "merge $sa 524288")" OK "merge ADDR LEN on it"
ok "regions records it (caller control)" \
	grep -q "^$(printf '%#x' "$sa")-.* control 524288 mergeable\$" "$MNT/$sm_pid/regions"
is "$(has_mg "$sm_pid" "$sa")" yes "and it is mergeable"

# ownership: uid 65534 owns the target
start b setpriv --reuid 65534 --regid 65534 --clear-groups "$P/mergefs_target" -n -A -s 202 -m 2
as() { u=$1; shift; setpriv --reuid "$u" --regid "$u" --clear-groups "$@"; }
is "$(as 65534 "$W" "$MNT/$b_pid/merge" 0)" OK "the owner may unmerge its process"
is "$(as 65533 "$W" "$MNT/$b_pid/merge" 1)" EACCES "a third uid may not"
ok "and the owner may read its stats" sh -c "setpriv --reuid 65534 --regid 65534 --clear-groups cat '$MNT/$b_pid/stats' | grep -q '^library 1'"
done_testing
