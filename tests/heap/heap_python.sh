#!/bin/sh
# heap_python.sh - a real crypto library: python3's ssl and hashlib make
# OpenSSL's libcrypto allocate (CA store, PBKDF2). Under default.policy
# (heap and arenas merged) and under process mode, the results are the
# same as without the library, the process has a crypto heap segment
# (32 MiB reservation) and it has no mg flag, while [heap] does (regions).
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
. "$KSMP_SRCDIR/tests/heap/heap_common.sh"
PY=/usr/bin/python3
[ -x "$PY" ] && "$PY" -c 'import ssl, hashlib' 2>/dev/null || skip_all "python3 with ssl not installed"
sanitized && skip_all "ASan's allocator comes first: the library's malloc interposers are bypassed"
heap_setup
SCRIPT="$KSMP_SRCDIR/tests/heap/crypto_heap.py"
plan 7
"$PY" "$SCRIPT" > "$PL_TMP/none" 2>&1
is "$(sed -n 2p "$PL_TMP/none")" "segments 0 segment-mg 0 heap-mg 0" "without the library: no crypto heap"
env LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY="$KSMP_SRCDIR/policy/default.policy" \
	"$PY" "$SCRIPT" > "$PL_TMP/pol" 2> "$PL_TMP/pol.err"
is "$(sed -n 1p "$PL_TMP/pol")" "$(sed -n 1p "$PL_TMP/none")" "default.policy: same results"
is "$(sed -n 2p "$PL_TMP/pol")" "segments 1 segment-mg 0 heap-mg 1" \
	"default.policy: libcrypto's blocks in a crypto heap segment without mg; [heap] has mg"
is "$(cat "$PL_TMP/pol.err")" "" "default.policy: nothing on stderr"
env LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY="$POL_PROCESS" \
	"$PY" "$SCRIPT" > "$PL_TMP/proc" 2> "$PL_TMP/proc.err"
is "$(sed -n 1p "$PL_TMP/proc")" "$(sed -n 1p "$PL_TMP/none")" "process mode: same results"
if [ -r /proc/self/ksm_stat ]; then
	is "$(sed -n 2p "$PL_TMP/proc" | cut -d' ' -f1-4)" "segments 1 segment-mg 0" \
		"process mode: the crypto heap segment has no mg"
else
	skip 1 "kernel without PR_SET_MEMORY_MERGE"
fi
is "$(cat "$PL_TMP/proc.err")" "" "process mode: nothing on stderr"
done_testing
