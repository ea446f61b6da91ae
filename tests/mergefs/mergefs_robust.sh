#!/bin/sh
# mergefs_robust - hostile or unusual targets and input on a real mount:
# a privileged target that shrinks its state memfd under mergefs (SIGBUS
# in mergefs without its guard), non-dumpable and credential-changing
# processes (their files are root's, like /proc's), a 1 MiB write, a
# write without newline, concurrent writers on one file, a process gone
# before open.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/mergefs_common.sh"
mfs_init root fuse setpriv
as() { u=$1; shift; setpriv --reuid "$u" --regid "$u" --clear-groups "$@"; }
errno_of() { # errno_of NAME: its number on this system
	case $1 in EAGAIN) echo 11 ;; ENOMEM) echo 12 ;; esac
}
alive() { kill -0 "$(mfs_pid)" 2>/dev/null && ls "$MNT" >/dev/null; }

plan 29
ok "mergefs mounts" mfs_mount allow_other,timeout=1000

# --- a target that shrinks its block: mergefs must survive the SIGBUS
start sh1 -s 301 -m 1 -T 4096
start sh0 -s 302 -m 1 -T 0
# a block that can be shrunk is not sealed: mergefs refuses it from the
# start (tests/security/block_kind.sh); the rest checks it stays so
ok "a shrinkable (unsealed) block is refused" grep -q '^library 0$' "$MNT/$sh1_pid/stats"
grep -q '^library 0$' "$MNT/$sh0_pid/stats"
exec 3< "$MNT/$sh1_pid/stats"	# keeps the block referenced by an open file
kill -USR2 "$sh1_pid" "$sh0_pid"
wait_line "$OUT/sh1" '^shrunk'
wait_line "$OUT/sh0" '^shrunk'
ok "both shrank their memfd (4096 and 0 bytes)" sh -c "grep -q '^shrunk' '$OUT/sh1' && grep -q '^shrunk' '$OUT/sh0'"
cat "$MNT/$sh1_pid/regions" > /dev/null 2> "$OUT/err1"
ok "reading past the shrunk end: EIO or a clean read, no crash" \
	sh -c "! test -s '$OUT/err1' || grep -q 'Input/output error' '$OUT/err1'"
cat "$MNT/$sh0_pid/stats" > /dev/null 2>&1
ok "mergefs is alive after the faults" alive
is "$(field "$MNT/$sh1_pid/stats" library)/$(field "$MNT/$sh0_pid/stats" library)" 0/0 \
	"a shrunk block is no longer trusted (library 0)"
ok "the file opened before still reads" sh -c "cat <&3 | grep -q '^saved_bytes '"
exec 3<&-
is "$("$W" "$MNT/$sh1_pid/merge" 0)" EOPNOTSUPP "and it cannot be steered any more (as without the library: only an attach could be undone)"
ok "the host files still work" grep -q '^processes_library ' "$MNT/stats"

# --- ownership follows the kernel's /proc rules
spawn du setpriv --reuid 65534 --regid 65534 --clear-groups "$P/mergefs_target" -s 303 -m 1
spawn nd setpriv --reuid 65534 --regid 65534 --clear-groups "$P/mergefs_target" -s 304 -m 1 -D
spawn su setpriv --ruid 65534 "$P/mergefs_target" -s 305 -m 1
ok "a dumpable process: its owner reads its stats" sh -c \
	"setpriv --reuid 65534 --regid 65534 --clear-groups cat '$MNT/$du_pid/stats' | grep -q '^owner 65534$'"
is "$(as 65534 cat "$MNT/$nd_pid/stats" 2>&1 >/dev/null | grep -c 'Permission denied')" 1 \
	"non-dumpable (PR_SET_DUMPABLE 0): the owner gets EACCES"
is "$(as 65534 "$W" "$MNT/$nd_pid/merge" 0)" EACCES "and cannot steer it"
is "$(field "$MNT/$nd_pid/stats" uid)/$(field "$MNT/$nd_pid/stats" owner)" 65534/0 \
	"root sees uid 65534, owner 0"
is "$(stat -c %u "$MNT/$nd_pid/stats")" 0 "its files are root's, as in /proc"
is "$("$W" "$MNT/$nd_pid/merge" 0)" OK "root still steers it"
is "$(as 65534 cat "$MNT/$su_pid/stats" 2>&1 >/dev/null | grep -c 'Permission denied')" 1 \
	"real uid 65534 with effective uid 0 (setuid-like): EACCES for 65534"
start dr -s 310 -m 1 -U 65534
is "$(field "$MNT/$dr_pid/stats" uid)/$(field "$MNT/$dr_pid/stats" owner)" 65534/0 \
	"started as root then dropped to 65534: still root's (not dumpable)"
is "$(as 65534 "$W" "$MNT/$dr_pid/merge" 0)" EACCES "so 65534 cannot steer it"

# --- bad and odd input
start t -s 306 -m 1
S=$MNT/$t_pid
is "$("$W" "$S/merge" 0)" OK "\"0\" without a newline is a whole command"
is "$("$W" "$S/merge" @1048576)" EINVAL "a 1 MiB write: EINVAL"
t_addr=$(awk '{print $2}' "$OUT/t")
is "$("$W" "$S/regions" "unmerge $t_addr 02000000")" EINVAL \
	"a length with a leading 0 is refused, not read as octal (524288)"
is "$("$W" "$S/merge" "1
1")" EINVAL "two lines in one write: EINVAL"
for i in 1 2 3 4 5 6 7 8; do
	"$W" "$S/merge" $((i % 2)) > "$OUT/cw$i" &
done
wait_all=0
for i in 1 2 3 4 5 6 7 8; do
	while ! [ -s "$OUT/cw$i" ] && [ $wait_all -lt 500 ]; do sleep 0.01; wait_all=$((wait_all + 1)); done
done
is "$(cat "$OUT"/cw* | sort | uniq -c | awk '{print $1, $2}')" "8 OK" "8 concurrent writers on one file: all OK"
is "$("$W" "$S/merge" 1)/$(cat "$S/merge")" OK/1 "and the file is consistent after"
ok "mergefs is alive after the bad input" alive

# --- the target's own errno comes back
start ea -s 307 -m 1 -F "$(errno_of EAGAIN)"
start en -s 308 -m 1 -F "$(errno_of ENOMEM)"
is "$("$W" "$MNT/$ea_pid/merge" 0)/$("$W" "$MNT/$en_pid/merge" 0)" EAGAIN/ENOMEM \
	"EAGAIN and ENOMEM from the target are the write's errno"

# --- a process gone before open
kill -9 "$t_pid"; wait "$t_pid" 2>/dev/null
is "$(cat "$S/stats" 2>&1 >/dev/null | grep -c 'No such file')" 1 "a process gone before open: ENOENT"

# --- a foreground mergefs through bad input, then unmounted: it exits 0
# and, in the sanitizer build, reports no leak or bad access
MNT2=$(mktemp -d /tmp/mergefs-test2.XXXXXX)
"$B/mergefs/mergefs" -f -o timeout=300 "$MNT2" 2> "$OUT/fg.err" &
fg=$!
i=0; while ! grep -q "^[^ ]* $MNT2 fuse" /proc/mounts && [ $i -lt 300 ]; do sleep 0.01; i=$((i + 1)); done
start fz -s 309 -m 1
"$P/mergefs_fuzz" "$MNT2/$fz_pid" 500 "$fz_pid" > "$OUT/fz2" 2>&1
for f in stats metrics ksm/run $fz_pid/stats $fz_pid/regions $fz_pid/regions_ksm $fz_pid/policy $fz_pid/merge; do
	cat "$MNT2/$f" > /dev/null
done
"$W" "$MNT2/$fz_pid/merge" 0 > /dev/null
kill -9 "$fz_pid"
ls "$MNT2" > /dev/null
fusermount3 -u "$MNT2"
wait "$fg"
is "$?" 0 "foreground mergefs exits 0 after fusermount3 -u"
sed 's/^/# /' "$OUT/fg.err" | head -n 30
ok "and printed no sanitizer report or error" sh -c "! grep -qi 'sanitizer\|runtime error' '$OUT/fg.err'"
done_testing
