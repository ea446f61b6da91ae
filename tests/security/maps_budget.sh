#!/bin/sh
# maps_budget - a process with a huge /proc/PID/maps costs mergefs no more
# than its fixed budget (issue 10, item 1): uid 65534 maps one file 16,000
# times under a ~3,000-byte path (tens of MiB of maps text); while uid
# 65533 reads /stats and lists the mount, mergefs reads at most its 4 MiB
# budget of that maps file (judged by mergefs's own rchar), its peak
# memory stays flat, and the reads stay quick. Before, mergefs read every
# maps file whole into one buffer: 0.67 s per `cat /stats` and 4.6 -> 64 MB.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/mergefs_common.sh"
mfs_init root fuse setpriv
[ -x /usr/bin/python3 ] || skip_all_env "/usr/bin/python3 not installed"
NMAP=16000
# auto=0: the controller would read other processes meanwhile
mfs_mount "allow_other,auto=0" || { echo "Bail out! mount failed"; exit 1; }
mpid=$(mfs_pid)
[ -n "$mpid" ] && [ -r "/proc/$mpid/io" ] || { echo "Bail out! mergefs's pid not found"; exit 1; }
as() { u=$1; shift; setpriv --reuid "$u" --regid "$u" --clear-groups "$@"; }
ms_now() { echo $(($(date +%s%N) / 1000000)); }
rchar() { sed -n 's/^rchar: //p' "/proc/$mpid/io"; }
hwm() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$mpid/status"; }

# a path of 12 directories of 250 characters each
chmod 755 "$OUT"
long=$(printf '%0250d' 0 | tr 0 m)
d=$OUT/deep
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do d=$d/$long$i; done
mkdir -p "$d" && chmod -R a+rx "$OUT/deep"
head -c 4096 /dev/zero > "$d/f" && chmod 644 "$d/f"
# setpriv itself in the background (not a function: a subshell's pid)
spawn big setpriv --reuid 65534 --regid 65534 --clear-groups /usr/bin/python3 -c '
import mmap, signal, sys
f = open(sys.argv[1], "rb")
# the same page each time: neighbours do not merge into one VMA
keep = [mmap.mmap(f.fileno(), 4096, prot=mmap.PROT_READ) for _ in range(int(sys.argv[2]))]
print("ready", flush=True)
signal.pause()' "$d/f" "$NMAP"
i=0; until grep -q ready "$OUT/big" 2>/dev/null || [ $i -ge 600 ]; do sleep 0.05; i=$((i + 1)); done
mapsz=$(wc -c < "/proc/$big_pid/maps")
plan 5
ok "the hostile process has $NMAP mappings, $((mapsz >> 20)) MiB of maps text" \
	test "$mapsz" -gt $((32 << 20))

# what reading everybody else's maps may cost: theirs, twice over, and 1 MiB
others=0
for m in /proc/[0-9]*/maps; do
	case $m in "/proc/$big_pid/maps") continue ;; esac
	n=$({ wc -c < "$m"; } 2>/dev/null) && others=$((others + n))
done
h0=$(hwm); r0=$(rchar); t0=$(ms_now)
case "$h0.$r0" in *[!0-9.]* | .* | *.) echo "Bail out! cannot read mergefs's VmHWM or rchar"; exit 1 ;; esac
as 65533 cat "$MNT/stats" > "$OUT/stats1" 2>&1; rc=$?
t1=$(ms_now); r1=$(rchar)
is "$rc" 0 "uid 65533: cat /stats works"
read_mb=$(( (r1 - r0) >> 20 ))
ok "mergefs read ${read_mb} MiB for it: within the 4 MiB budget and the others' $((others >> 10)) KiB (twice) + 1 MiB" \
	test $((r1 - r0)) -le $(( (4 << 20) + 2 * others + (1 << 20) ))
ts=""
for k in 1 2 3; do
	a=$(ms_now); as 65533 cat "$MNT/stats" > /dev/null 2>&1; as 65533 ls "$MNT" > /dev/null 2>&1
	ts="$ts $(($(ms_now) - a))"
done
med=$(printf '%s\n' $ts | sort -n | sed -n 2p)
bound=1000; sanitized && bound=3000
ok "cat /stats + ls: first $((t1 - t0)) ms, then median $med ms (of$ts; bound $bound)" test "$med" -lt "$bound"
h1=$(hwm)
ok "mergefs's peak memory: $h0 -> $h1 KiB (less than 16 MiB more)" test $((h1 - h0)) -lt 16384
done_testing
