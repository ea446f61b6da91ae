#!/bin/sh
# profile_node.sh - ksmpreload profile -n 2 on node holding the same 16 MiB
# Buffer: its origin (a malloc chunk from node's ArrayBuffer allocator,
# resolved to a C++ function) merges, the suggested policy is valid and
# keeps >= 97% of whole-process merging.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
. "$KSMP_SRCDIR/tests/profile_common.sh"
NODE=/usr/bin/node
need_root
need_ksm
[ -x "$NODE" ] || skip_all_env "node not installed ($NODE)"
pl_need_lib
sanitized && skip_all "under ASan the sanitizer's allocator replaces malloc in the profiled program, so the malloc-kind origins cannot be profiled"
ksm_fast "$@"
pl_tmp
plan 5
cat > "$PL_TMP/work.js" <<JSEOF
const b = Buffer.alloc(16 << 20);
let x = $(( $$ % 50000 + 52000 ));
for (let i = 0; i < b.length; i += 4) { x = (Math.imul(x, 1103515245) + 12345) >>> 0; b.writeUInt32LE(x, i); }
globalThis.keep = b;
console.log("ready");
setInterval(() => { if (keep.length < 0) console.log(keep); }, 100000);
JSEOF
prof_e2e node 2 '^chunk node!.*ArrayBuffer' "$NODE" "$PL_TMP/work.js"
done_testing
