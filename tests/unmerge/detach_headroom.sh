#!/bin/sh
# detach_headroom - `ksmpreload detach` run by hand checks the memory the
# unmerge will take against the host and the target's memory cgroup, as
# mergefs's writes do (issue 14): two attached programs share 32 MiB of
# merged pages in a memory cgroup made for the test; with the group's
# limit just above its use, detach is refused (exit 1, ENOMEM in --json),
# whole-process merging and the savings stay and nobody is OOM-killed;
# --margin and --force decide as documented; with headroom it unmerges.
# Real KSM (under tests/ksm-hold), real cgroup (removed on exit).
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/attach/attach_common.sh"
. "$KSMP_SRCDIR/tests/unmerge/cgroup_common.sh"
need_root
need_ksm
[ -r /proc/self/ksm_stat ] || skip_all_env "kernel has no /proc/PID/ksm_stat"
sanitized && skip_all "memory figures of an ASan build are not the program's (shadow memory)"
ksm_fast "$@"	# re-executes this script under ksm-hold: before the scratch dir and the group
at_setup
cg_find || skip_all_env "no memory cgroup controller to make a child group in"
trap 'at_cleanup; cg_remove' EXIT

plan 18
MIB=32
PAGES=$((MIB * 256))
seed=0x7a11$(printf %04x $(( $$ % 65536 )))
at_start a cg_exec "$TGT" hold "$seed" $MIB; A=$AT_PID
at_start b cg_exec "$TGT" hold "$seed" $MIB; B=$AT_PID
"$K" attach --mode process $A $B > /dev/null 2>&1
sum=$("$PROBE" plateau 30 $A $B | sed -n 's/^sum //p')
ok "attached, merged (${sum:-0} of $((2 * PAGES)) pages)" [ "${sum:-0}" -ge $((2 * PAGES * 9 / 10)) ]
mp() { "$PROBE" stat "$1" ksm_merging_pages; }
any() { sed -n 's/^ksm_merge_any: //p' "/proc/$1/ksm_stat"; }
alive() { kill -0 "$A" 2>/dev/null && kill -0 "$B" 2>/dev/null; }
oom0=$(ooms)

# --- 12 MiB of room for 32 MiB of copies: refused, nothing changes
echo $(( $(usage) + 12 * 1048576 )) > "$CG/$LIM"
before=$(mp $A)
out=$("$K" detach $A 2>&1); rc=$?
is "$rc" 1 "detach with 12 MiB of room exits 1"
case $out in *"refused: unmerging needs"*"MiB"*) r=0;; *) r=1; diag "$out";; esac
ok "it says why (need, room, where)" [ $r -eq 0 ]
diag "$out"
json=$("$K" detach --json $A 2>/dev/null)
echo "$json" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
assert len(d) == 1 and d[0]["ok"] is False and d[0]["error"] == "ENOMEM", d
' 2>&1
ok "--json: ok false, error ENOMEM" [ $? -eq 0 ]
is "$(any $A)" yes "whole-process merging stays on"
ok "its savings stay ($(mp $A) merging pages, $before before)" [ "$(mp $A)" -ge $((before * 9 / 10)) ]
ok "the record is kept for a later detach" grep -q '^process 1' "$T/rec/$A"

# --- 48 MiB of room: 32 fits, but not with the 64 MiB margin
echo $(( $(usage) + 48 * 1048576 )) > "$CG/$LIM"
"$K" detach $A > /dev/null 2>&1
is "$?" 1 "48 MiB of room and the default 64 MiB margin: refused"
is "$("$K" detach --margin 8 $A 2>&1 >/dev/null)" "" "--margin 8: done, nothing on stderr"
is "$(any $A)" no "whole-process merging is off"
ok "the record is gone" [ ! -e "$T/rec/$A" ]
echo $(( $(usage) + 48 * 1048576 )) > "$CG/$LIM"
"$K" detach $B > /dev/null 2>&1
is "$?" 1 "b: refused with the default margin"
"$K" detach --force $B > /dev/null 2>&1
is "$?" 0 "--force: done without the check"
is "$(any $B)" no "b no longer merges as a whole"
is "$(ooms)" "$oom0" "no OOM kill in the group"
ok "both programs are alive" alive

# --- bad options
"$K" detach --margin -3 $A > /dev/null 2>&1
is "$?" 2 "--margin -3: usage error (exit 2)"
"$K" attach --force $A > /dev/null 2>&1
is "$?" 2 "attach --force: usage error (exit 2)"
done_testing
