#!/bin/sh
# mergefs_shortwrite - a command never cuts a program's write short. A
# signal that interrupts a blocking write to a pipe after part of the data
# went makes write(2) return that part; CPython 3.11 then loses the rest of
# a large sys.stdout.write (any signal does it, its own handlers too), so
# the library finishes a write that its control signal cut short
# (preload/write.c). A single-threaded python3 under the library writes
# 3 x 8 MiB to a pipe that a slow reader drains, so it is blocked in
# write(2) nearly all the time, while merge is toggled every ~50 ms: every
# byte arrives and the commands are carried out. With the reader stopped,
# a command to the writer blocked in write(2) is carried out at once, the
# writer goes back to its write, and nothing is lost when the reader goes
# on. A program that bounds its write with its own SA_RESTART alarm still
# gets the short count when the alarm comes, also after a command cut the
# write and the library went on with it (pipe and stream socket), and
# not a hang.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/mergefs_common.sh"
mfs_init root fuse
[ -f "$(ksmp_lib)" ] || skip_all "libksmpreload.so not built"
PY=/usr/bin/python3
[ -x "$PY" ] || skip_all_env "python3 not installed"
chmod 755 "$OUT"
cat > "$OUT/t.policy" <<'POL'
name    mergefs-shortwrite
mode    regions
control yes
merge   any
POL
chmod 644 "$OUT/t.policy"
. "$KSMP_SRCDIR/tests/shortwrite_common.sh"
sw_files "$OUT" ksmp-mergefs-shortwrite
want=$SW_WANT

plan 15
mfs_mount allow_other,timeout=1500 || { echo "Bail out! mount failed"; exit 1; }
mkfifo "$OUT/fifo"
# run WRITER_LOG: writer and reader through the fifo; sets wpid, rpid
run() {
	"$PY" "$OUT/reader.py" < "$OUT/fifo" > "$OUT/got" 2> "$OUT/reader.err" &
	rpid=$!; PIDS="$PIDS $rpid"
	env LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY="$OUT/t.policy" \
		"$PY" "$OUT/writer.py" > "$OUT/fifo" 2> "$OUT/$1" &
	wpid=$!; PIDS="$PIDS $wpid"
	wait_line "$OUT/$1" '^ready'
}

# 1: toggling while the writer is blocked in its writes
run w1.err
v=0 n=0
: > "$OUT/results"
while kill -0 "$wpid" 2>/dev/null; do
	"$W" "$MNT/$wpid/merge" "$v" >> "$OUT/results" 2>/dev/null
	echo >> "$OUT/results"
	v=$((1 - v)) n=$((n + 1))
	sleep 0.05
done
wait "$wpid"; wrc=$?
wait "$rpid"
is "$wrc" 0 "the writer exits 0 ($n commands sent meanwhile)"
is "$(cat "$OUT/got")" "$want" "every byte arrived, in order (24 MiB, sha256)"
done_ok=$(grep -c '^OK$' "$OUT/results")
ok "commands were carried out meanwhile ($done_ok OK; $(sort "$OUT/results" | uniq -c | tr -s ' \n' ' '))" \
	test "$done_ok" -gt 0
# the last command may meet the writer's exit (ENOENT, or EIO when its
# block went away while it was being read): judge the others
grep -v '^$' "$OUT/results" | sed '$d' > "$OUT/results.before"
ok "no command failed before the writer's exit ($(sort "$OUT/results.before" | uniq -c | tr -s ' \n' ' '))" \
	sh -c "! grep -Ev '^(OK|ENOENT)\$' '$OUT/results.before'"
diag "writer's stderr: $(grep -v '^ready' "$OUT/w1.err" | head -3)"

# 2: the reader stopped: the writer stays in write(2); the command is
# carried out there, and the write goes on
run w2.err
kill -STOP "$rpid"
n=0
until grep -q '^1 ' "/proc/$wpid/syscall" 2>/dev/null || [ $n -ge 250 ]; do
	n=$((n + 1)); sleep 0.02
done
r=$("$W" "$MNT/$wpid/merge" 0 2>/dev/null)
blocked=$(cut -d' ' -f1 "/proc/$wpid/syscall" 2>/dev/null)
kill -CONT "$rpid"
case $blocked in 1 | 7) blocked=back ;; esac	# write(2), or the continuation's poll(2)
is "$r/$blocked" "OK/back" "a command to the only thread, blocked writing: carried out, and the thread is back waiting to write"
wait "$wpid"; wrc=$?
wait "$rpid"
is "$wrc" 0 "that writer exits 0"
is "$(cat "$OUT/got")" "$want" "and every byte of it arrived"

# 3: the program's own SA_RESTART alarm ends a write that a command cut
# short and the library continues: what it got without the library (the
# count so far, after the alarm's 2 s), not a write that never ends
for kind in pipe sock; do
	mkfifo "$OUT/$kind.fifo"
	sleep 1000 < "$OUT/$kind.fifo" &	# a reader that never reads
	hold=$!; PIDS="$PIDS $hold"
	env LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY="$OUT/t.policy" \
		"$P/alarm_write" "$kind" 2 > "$OUT/$kind.fifo" 2> "$OUT/$kind.err" &
	apid=$!; PIDS="$PIDS $apid"
	wait_line "$OUT/$kind.err" '^ready'
	n=0
	until grep -q '^1 ' "/proc/$apid/syscall" 2>/dev/null || [ $n -ge 250 ]; do
		n=$((n + 1)); sleep 0.02
	done
	r=$("$W" "$MNT/$apid/merge" 0 2>/dev/null)
	n=0
	while kill -0 "$apid" 2>/dev/null && [ $n -lt 200 ]; do n=$((n + 1)); sleep 0.05; done
	if kill -0 "$apid" 2>/dev/null; then
		ok "$kind: the program's alarm ends its write (still blocked 10 s later)" false
		kill -9 "$apid"
	else
		set -- $(grep '^write' "$OUT/$kind.err")
		# write N errno E alarm A ms T
		ok "$kind: command $r; the alarm ends the write with a short count ($*)" \
			test "${2:-0}" -gt 0 -a "${4:-1}" = 0 -a "${6:-0}" = 1
		ok "$kind: after the alarm's 2 s, not before (${8:-?} ms)" test "${8:-0}" -ge 1900
	fi
	wait "$apid" 2>/dev/null
	is "$r" OK "$kind: the command was carried out"
	kill "$hold" 2>/dev/null; wait "$hold" 2>/dev/null
done
# 4: the reader goes away while the library goes on with a cut write:
# SIGPIPE, as the kernel sends it for a write that wrote a part (the
# program keeps SIGPIPE's default: it dies of it), not a quiet short count
mkfifo "$OUT/epipe.fifo"
sleep 1000 < "$OUT/epipe.fifo" &
hold=$!; PIDS="$PIDS $hold"
env LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY="$OUT/t.policy" \
	"$P/alarm_write" pipe 0 > "$OUT/epipe.fifo" 2> "$OUT/epipe.err" &
apid=$!; PIDS="$PIDS $apid"
wait_line "$OUT/epipe.err" '^ready'
n=0
until grep -q '^1 ' "/proc/$apid/syscall" 2>/dev/null || [ $n -ge 250 ]; do n=$((n + 1)); sleep 0.02; done
r=$("$W" "$MNT/$apid/merge" 0 2>/dev/null)
sleep 0.2
kill "$hold"; wait "$hold" 2>/dev/null
n=0
while kill -0 "$apid" 2>/dev/null && [ $n -lt 100 ]; do n=$((n + 1)); sleep 0.05; done
kill -9 "$apid" 2>/dev/null
wait "$apid"; arc=$?
is "$r/$arc" "OK/141" "pipe reader gone during the continued write: the program dies of SIGPIPE (exit 141) as without the library ($(grep '^write' "$OUT/epipe.err"))"

# 5: SO_SNDTIMEO still bounds the write: a reader that takes 32 KiB every
# 50 ms keeps making room, and a 1 s send timeout ends the write short
# without the library; the continuation must end too (within its own 1 s)
env LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY="$OUT/t.policy" \
	"$P/alarm_write" trickle 0 2> "$OUT/trickle.err" &
apid=$!; PIDS="$PIDS $apid"
wait_line "$OUT/trickle.err" '^ready'
n=0
until grep -q '^1 ' "/proc/$apid/syscall" 2>/dev/null || [ $n -ge 250 ]; do n=$((n + 1)); sleep 0.02; done
r=$("$W" "$MNT/$apid/merge" 0 2>/dev/null)
n=0
while kill -0 "$apid" 2>/dev/null && [ $n -lt 200 ]; do n=$((n + 1)); sleep 0.05; done
kill -9 "$apid" 2>/dev/null
wait "$apid" 2>/dev/null
set -- $(grep '^write' "$OUT/trickle.err")
ok "socket with SO_SNDTIMEO 1 s and a trickling reader: command $r, the write ends short within 4 s ($*)" \
	test "$r" = OK -a "${2:-0}" -gt 0 -a "${2:-0}" -lt $((4 << 20)) -a "${8:-99999}" -lt 4000
done_testing
