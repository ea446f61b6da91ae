#!/bin/sh
# outsider - regression test (issue 10, item 4: listing, stat and open):
# another uid must learn nothing from mergefs that /proc would not tell
# it. The kernel shows every user every pid, its owner and whether it is
# dumpable, but refuses others its ksm_stat and maps; mergefs showed uid
# 65534, though, which pids use KSM or the library (listing), whether a
# process can be steered (the mode of merge), and which pids run with
# KSM (EACCES on open) or not (ENOENT).
#
# As uid 65534, file by file, against processes of uid 65533 with the
# library (A), root with the library (B), uid 65533 without the library
# or KSM (C) and uid 65533 merging without the library (D), and a pid that
# does not exist (E): no listing of them, one answer for A, C and D alike.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/mergefs_common.sh"
mfs_init root fuse setpriv
as() { u=$1; shift; setpriv --reuid "$u" --regid "$u" --clear-groups "$@"; }
mfs_mount allow_other,timeout=1000 || { echo "Bail out! mount failed"; exit 1; }

spawn A setpriv --reuid 65533 --regid 65533 --clear-groups "$P/mergefs_target" -s 651 -K 64
start B -s 652 -K 64
spawn C setpriv --reuid 65533 --regid 65533 --clear-groups "$P/mergefs_target" -n -A -K 64
spawn D setpriv --reuid 65533 --regid 65533 --clear-groups "$P/mergefs_target" -n -s 654 -K 64
E=4194303
[ -d "/proc/$E" ] && E=4194302
# the premise, as root: A, B and D are in the mount, C is not
ls "$MNT" > "$OUT/root_ls"
premise=$(for p in $A_pid $B_pid $D_pid; do grep -qx "$p" "$OUT/root_ls" && echo y; done | wc -l)

# view PID: what uid 65534 learns of it: stat of the directory and of
# each file (type, mode, owner), the listing of the directory, and the
# error of opening each file
view() {
	as 65534 stat -c '%F %a %u' "$MNT/$1" 2>&1 | sed "s/$1/PID/g"
	as 65534 ls "$MNT/$1" 2>&1 | sed "s/$1/PID/g"
	for f in stats merge regions regions_ksm policy; do
		as 65534 stat -c "$f %F %a %u" "$MNT/$1/$f" 2>&1 | sed "s/$1/PID/g"
		as 65534 cat "$MNT/$1/$f" 2>&1 >/dev/null | sed "s/$1/PID/g"
	done
	as 65534 "$W" "$MNT/$1/merge" 0
}
plan 8
is "$premise" 3 "the premise: root lists A, B and D (library or KSM)"
as 65534 ls "$MNT" > "$OUT/ls"
leaked=$(for p in $A_pid $B_pid $C_pid $D_pid; do grep -qx "$p" "$OUT/ls" && echo "$p"; done | wc -l)
is "$leaked" 0 "uid 65534's listing shows none of another uid's processes"
view "$A_pid" > "$OUT/A"
view "$C_pid" > "$OUT/C"
view "$D_pid" > "$OUT/D"
view "$E" > "$OUT/E"
sed 's/^/# A: /' "$OUT/A" | head -n 8
ok "a process with the library looks like one without (A = C)" cmp -s "$OUT/A" "$OUT/C"
ok "a process merging without the library looks the same (D = C)" cmp -s "$OUT/D" "$OUT/C"
ok "every open is refused (EACCES), not ENOENT" sh -c "grep -c 'Permission denied' '$OUT/C' | grep -qx 5 && ! grep -q 'No such file' '$OUT/C' && tail -n 1 '$OUT/C' | grep -qx EACCES"
ok "merge shows no write bit to an outsider" grep -q '^merge regular empty file 400 65533$' "$OUT/C"
ok "a pid that does not exist: ENOENT, as in /proc" sh -c "grep -q 'No such file' '$OUT/E' && ! grep -q 'Permission denied' '$OUT/E'"
# the owner still sees its own as before
is "$(as 65533 stat -c '%a' "$MNT/$A_pid/merge")/$(as 65533 cat "$MNT/$A_pid/merge")" 600/1 \
	"the owner still sees its process steerable, and reads it"
done_testing
