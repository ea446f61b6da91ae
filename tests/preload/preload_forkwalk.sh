#!/bin/sh
# preload_forkwalk.sh - fork while other threads are in the library's
# looks at the loaded objects (dl_iterate_phdr: a new mmap record, dlopen,
# dlclose). glibc's fork does not reset the loader's dl_load_write_lock:
# before a child of a multithreaded process stopped walking, one forked
# during a walk or a dlopen hung for ever at its first mmap (3 runs of 3,
# at fork 4, 11 and 8). ksmp-forkwalk: 4 threads on mmap/munmap of 1 MiB, one
# on dlopen/dlclose of libksmpdata.so; main forks up to 3000 times in
# 15 s, each child maps, mallocs and exits under alarm(5). Built-in
# default policy (an empty policy directory): it advises every mmap, no
# KSM needed. Not under ASan (a multithreaded fork hangs there anyway).
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
pl_need_lib
sanitized && skip_all "sanitizer build: fork from a multithreaded parent hangs under ASan"
pl_tmp
plan 2

mkdir -p "$PL_TMP/empty.d"
t0=$(date +%s)
out=$(timeout -s KILL 40 env LD_PRELOAD="$(ksmp_preload)" \
	KSMP_POLICY_DIR="$PL_TMP/empty.d" \
	"$PROGS/ksmp-forkwalk" "${KSMP_FORKWALK_FORKS:-3000}" 15 \
	"$PROGS/libksmpdata.so" 2> "$PL_TMP/err")
rc=$?
t=$(($(date +%s) - t0))
diag "ksmp-forkwalk: '$out', exit $rc, ${t}s"
[ -s "$PL_TMP/err" ] && sed 's/^/# /' "$PL_TMP/err"
ok "every forked child mapped, malloced and exited (none hung in the loader)" \
	[ $rc -eq 0 ]
n=${out#forks }; n=${n%% *}
ended=1
[ $rc -le 1 ] && [ "${n:-0}" -ge 1 ] 2>/dev/null && [ $t -le 30 ] && ended=0
ok "the run ended on its own within its bound (${t}s, ${n:-no} forks)" [ $ended -eq 0 ]
