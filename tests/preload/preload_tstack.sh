#!/bin/sh
# preload_tstack.sh - thread stacks under the built-in default (no policy
# file: an empty policy directory), which merges them: a thread's stack
# below its first frame has mg; the top of the stack block, where glibc
# keeps the thread's descriptor (pthread_self(): stack and pointer guards)
# and the static TLS of every library (a __thread variable here;
# libsodium keeps its random generator's key there), has none; the thread
# gets no malloc arena from the library's own look at its stack (the
# program has 1 arena, as without the library); and once the thread has
# ended its stack record is gone (glibc may unmap or reuse the stack with
# calls the library never sees). The same program without the library
# gives the arena count to compare.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
pl_need_lib
pl_tmp
sanitized && skip_all "the sanitizer runtime has its own thread and malloc set-up"
plan 7

mkdir -p "$PL_TMP/empty.d"
run_one() { # TAG ENV...: starts ksmp-tstack, waits for ready
	tag=$1; shift
	pl_start "$PL_TMP/$tag.out" env "$@" "$PROGS/ksmp-tstack" "$PL_TMP/$tag.go"
	pl_wait_ready "$PL_TMP/$tag.out" || true
}
join_one() { # TAG
	: > "$PL_TMP/$1.go"
	n=0; until grep -q joined "$PL_TMP/$1.out" || [ $n -ge 200 ]; do n=$((n + 1)); sleep 0.05; done
}

run_one plain -u LD_PRELOAD
join_one plain
want=$(awk '$1 == "arenas" { print $2 }' "$PL_TMP/plain.out")

run_one lib LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY_DIR="$PL_TMP/empty.d"
p=$PL_LAST
out="$PL_TMP/lib.out"
local=$(pl_addr "$out" 0)
is "$(pl_probe mg "$p" "$local")" mg "the thread's stack has mg"
is "$(pl_probe mg "$p" "$(pl_addr "$out" 1)")" nomg "its static TLS (a __thread variable) has none"
is "$(pl_probe mg "$p" "$(pl_addr "$out" 2)")" nomg "its descriptor (pthread_self()) has none"
is "$(pl_record "$p" "$local" | cut -d" " -f1)" stack "the stack is recorded while the thread runs"
join_one lib
is "$(awk '$1 == "arenas" { print $2 }' "$out")" "$want" "malloc arenas as without the library ($want)"
is "$(pl_record "$p" "$local" | cut -d" " -f1)" "" "no stack record once the thread ended"
ok "the program ran to its end" grep -q joined "$out"
pl_stop
done_testing
