#!/bin/sh
# safety_corrupt - a process scribbles random bytes over its published
# state block (wrong magic, huge counts, strings without a NUL, absurd
# region slots, sequence numbers odd for ever, garbage control fields)
# while mergefs's files of it are read and written in a loop: no crash,
# no hang, every answer well-formed (tests/progs/safety_corrupt.c), the
# metrics still valid Prometheus text (tests/progs/mergefs_promcheck).
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/mergefs_common.sh"
mfs_init root fuse
SECS=${KSMP_SAFETY_SECS:-8}

plan 6
ok "mergefs mounts" mfs_mount allow_other,timeout=200
M=$(mfs_pid)
t0=$(date +%s)
"$P/safety_corrupt" "$MNT" "$SECS" "${KSMP_SAFETY_SEED:-42}" "$OUT" > "$OUT/corrupt" 2> "$OUT/corrupt.err"
rc=$?
took=$(($(date +%s) - t0))
sed 's/^/# /' "$OUT/corrupt"
head -n 20 "$OUT/corrupt.err" | sed 's/^/# /'
is "$rc" 0 "$SECS s of a scribbled block: no hang, every read well-formed"
set -- $(cat "$OUT/corrupt")
# reads R writes W errors E attached A wrong X
ok "the scribbled block was attached and read (library 1 in ${8:-0} stats reads)" \
	test "${8:-0}" -gt 0
bad=0; n=0
for f in "$OUT"/metrics.*; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	if ! "$P/mergefs_promcheck" < "$f" > "$OUT/pc" 2>&1; then
		bad=$((bad + 1)); sed 's/^/# /' "$OUT/pc"
	fi
done
ok "metrics read meanwhile are valid Prometheus text ($n checked, $bad bad)" test "$n" -gt 0 -a "$bad" -eq 0
ok "mergefs is alive and serving" sh -c "kill -0 $M && ls '$MNT' >/dev/null && grep -q '^processes_library ' '$MNT/stats'"
ok "bounded time (${took} s)" test "$took" -lt "$((SECS + 15))"
done_testing
