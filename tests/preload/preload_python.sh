#!/bin/sh
# preload_python.sh - the built-in default (no policy file) on Debian's python3: 4
# instances building the same 24 MiB of data (one big bytes object plus
# many small objects) merge it, per process.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
PY=/usr/bin/python3
need_root
need_ksm
[ -x "$PY" ] || skip_all_env "Debian python3 not installed ($PY)"
pl_need_lib
ksm_fast "$@"
pl_tmp
N=4
plan $((N * 3 + 1))
cat > "$PL_TMP/work.py" <<'PYEOF'
import random, sys, time
random.seed(20431)
blob = random.randbytes(24 << 20)
words = ["%07d:%s" % (i, "pqrstuvw" * 8) for i in range(100000)]
table = {w: len(w) for w in words[:50000]}
print("ready", len(blob), len(table), flush=True)
time.sleep(300)
PYEOF
pids=""
for i in $(seq $N); do
	pl_start "$PL_TMP/py$i.out" env $(pl_real_env) $(pl_default_env) \
		"$PY" "$PL_TMP/work.py"
	pids="$pids $PL_LAST"
done
for i in $(seq $N); do
	pl_wait_ready "$PL_TMP/py$i.out" 30
	is "$(cat "$PL_TMP/py$i.out")" "ready 25165824 50000" "python3 $i runs normally"
done
pl_real_judge python3 $((6144 * 90 / 100)) $pids
is "$(cat "$PL_TMP"/py*.out.err)" "" "nothing on stderr"
pl_stop
done_testing
