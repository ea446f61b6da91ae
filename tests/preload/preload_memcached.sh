#!/bin/sh
# preload_memcached.sh - the built-in default (no policy file) on Debian's memcached:
# 4 servers loaded with the same 300 x 64 KiB values merge the values, per
# process; the servers keep answering.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
PY=/usr/bin/python3
need_root
need_ksm
command -v memcached > /dev/null || skip_all_env "memcached not installed"
[ -x "$PY" ] || skip_all_env "python3 not installed (used as the client)"
pl_need_lib
ksm_fast "$@"
pl_tmp
N=4
plan $((N * 4 + 1))
cat > "$PL_TMP/client.py" <<'PYEOF'
import random, socket, sys, time
port, cmd = int(sys.argv[1]), sys.argv[2]
for _ in range(100):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        break
    except OSError:
        time.sleep(0.05)
else:
    print("noconnect"); sys.exit(1)
f = s.makefile("rwb")
if cmd == "load":
    random.seed(4242)
    for i in range(300):
        v = random.randbytes(65536)
        f.write(b"set k%04d 0 0 %d noreply\r\n%s\r\n" % (i, len(v), v))
    f.write(b"get k0123\r\n"); f.flush()
    line = f.readline(); data = f.read(65536 + 2); f.readline()
    print("loaded", len(data) - 2, line.split()[1].decode())
else:
    f.write(b"get k0042\r\n"); f.flush()
    line = f.readline(); data = f.read(65536 + 2); f.readline()
    print("sum", sum(data[:-2]) % 100003)
PYEOF
base=$((26000 + $$ % 5000 * 4))
pids=""
for i in $(seq $N); do
	pl_start "$PL_TMP/m$i.out" env $(pl_real_env) $(pl_default_env) \
		memcached -u root -l 127.0.0.1 -p $((base + i)) -U 0 -m 128
	pids="$pids $PL_LAST"
done
for i in $(seq $N); do
	is "$("$PY" "$PL_TMP/client.py" $((base + i)) load)" "loaded 65536 k0123" \
		"memcached $i answers and holds the data"
done
pl_real_judge memcached $((300 * 15 * 80 / 100)) $pids
want=$("$PY" "$PL_TMP/client.py" $((base + 1)) get)
for i in $(seq $N); do
	is "$("$PY" "$PL_TMP/client.py" $((base + i)) get)" "$want" "memcached $i still serves the data"
done
is "$(cat "$PL_TMP"/m*.out.err)" "" "nothing on stderr"
pl_stop
done_testing
