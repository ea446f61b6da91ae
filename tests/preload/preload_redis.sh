#!/bin/sh
# preload_redis.sh - the built-in default (no policy file) on Debian's redis-server: 4
# servers loaded with the same 5000 x 4000-byte values (redis-cli --pipe)
# merge the values, per process; the servers keep answering.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
PY=/usr/bin/python3
need_root
need_ksm
command -v redis-server > /dev/null || skip_all_env "redis-server not installed"
command -v redis-cli > /dev/null || skip_all_env "redis-cli not installed (redis-tools)"
[ -x "$PY" ] || skip_all_env "python3 not installed (used to generate the load)"
pl_need_lib
ksm_fast "$@"
pl_tmp
N=4
plan $((N * 4 + 1))
"$PY" - > "$PL_TMP/load.resp" <<'PYEOF'
import random, sys
random.seed(777)
out = sys.stdout.buffer
for i in range(5000):
    k = b"key:%06d" % i
    v = random.randbytes(2000).hex().encode()
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
PYEOF
base=$((21000 + $$ % 5000 * 4))
pids=""
for i in $(seq $N); do
	pl_start "$PL_TMP/r$i.out" env $(pl_real_env) $(pl_default_env) \
		redis-server --port $((base + i)) --bind 127.0.0.1 --save '' --appendonly no
	pids="$pids $PL_LAST"
done
for i in $(seq $N); do
	n=0
	until [ "$(redis-cli -p $((base + i)) ping 2>/dev/null)" = PONG ] || [ $n -gt 200 ]; do
		sleep 0.05; n=$((n + 1)); done
	redis-cli -p $((base + i)) --pipe < "$PL_TMP/load.resp" > /dev/null 2>&1
	is "$(redis-cli -p $((base + i)) dbsize)" 5000 "redis $i answers and holds 5000 keys"
done
pl_real_judge redis $((5000 * 70 / 100)) $pids
for i in $(seq $N); do
	v=$(redis-cli -p $((base + i)) get key:000042 | cut -c1-16)
	is "$v" "$(redis-cli -p $((base + 1)) get key:000042 | cut -c1-16)" "redis $i still serves the data"
done
is "$(cat "$PL_TMP"/r*.out.err)" "" "nothing on stderr"
pl_stop
done_testing
