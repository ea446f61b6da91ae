#!/bin/sh
# profile_python.sh - ksmpreload profile -n 2 on Debian's python3 holding
# the same 16 MiB of bytes and many small objects: the big object's origin
# merges (the main heap: random.randbytes frees a 16 MiB buffer first, and
# glibc's dynamic mmap threshold, which the library keeps, then serves the
# next one from the heap, as without the library; a chunk from libpython
# where the threshold stays low), the suggested policy is valid and keeps
# >= 97% of whole-process merging.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
. "$KSMP_SRCDIR/tests/profile_common.sh"
PY=/usr/bin/python3
need_root
need_ksm
[ -x "$PY" ] || skip_all_env "Debian python3 not installed ($PY)"
pl_need_lib
sanitized && skip_all "under ASan the sanitizer's allocator replaces malloc in the profiled program, so the malloc-kind origins cannot be profiled"
ksm_fast "$@"
pl_tmp
plan 6
cat > "$PL_TMP/work.py" <<PYEOF
import random, time
random.seed($(( $$ % 50000 + 31000 )))
blob = random.randbytes(16 << 20)
words = ["%07d:%s" % (i, "mnopqrst" * 8) for i in range(60000)]
print("ready", flush=True)
time.sleep(300)
PYEOF
prof_e2e python 2 '^(chunk [^ ]*python|heap )' "$PY" "$PL_TMP/work.py"
is "$(cat "$PL_TMP/python.err" | grep -v '^ksmpreload profile: 2 instance')" "" "nothing else on stderr"
done_testing
