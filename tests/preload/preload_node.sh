#!/bin/sh
# preload_node.sh - the built-in default (no policy file) on Debian's nodejs: 4 instances
# filling the same 24 MiB Buffer and building the same objects merge the
# buffer, per process.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
NODE=$(command -v node || command -v nodejs || true)
need_root
need_ksm
[ -n "$NODE" ] || skip_all_env "node not installed (Debian nodejs)"
pl_need_lib
ksm_fast "$@"
pl_tmp
N=4
plan $((N * 3 + 1))
cat > "$PL_TMP/work.js" <<'JSEOF'
const n = 24 << 20;
const b = Buffer.alloc(n);
let x = 0x2545F491 >>> 0;
for (let i = 0; i < n; i += 4) {
	x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
	b.writeUInt32LE(x, i);
}
const objs = [];
for (let i = 0; i < 50000; i++) objs.push({ k: "key" + i, v: "v".repeat(i % 64) });
// Keep both alive: once the script body ends they are garbage, and V8's
// collector would free the buffer in some instances and not others.
globalThis.keep = { b, objs };
console.log("ready", b.length, objs.length);
setTimeout(() => {}, 300000);
JSEOF
pids=""
for i in $(seq $N); do
	pl_start "$PL_TMP/n$i.out" env $(pl_real_env) $(pl_default_env) \
		"$NODE" "$PL_TMP/work.js"
	pids="$pids $PL_LAST"
done
for i in $(seq $N); do
	pl_wait_ready "$PL_TMP/n$i.out" 30
	is "$(cat "$PL_TMP/n$i.out")" "ready 25165824 50000" "node $i runs normally"
done
pl_real_judge node $((6144 * 90 / 100)) $pids
is "$(cat "$PL_TMP"/n*.out.err)" "" "nothing on stderr"
pl_stop
done_testing
