#!/bin/sh
# state_seal - the library's state block cannot change size: its memfd is
# sealed (F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_SEAL), so a reader that maps
# it (mergefs) can never be made to fault by a truncated block.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
need_root
[ -f "$(ksmp_lib)" ] || skip_all "libksmpreload.so not built"
command -v python3 >/dev/null 2>&1 || skip_all_env "python3 not installed"
LD_PRELOAD="$(ksmp_preload)" ASAN_OPTIONS=detect_leaks=0 sleep 30 &
pid=$!
trap 'kill $pid 2>/dev/null' EXIT
range=
for _ in $(seq 100); do
	range=$(awk '/ksmpreload-state/ { print $1; exit }' "/proc/$pid/maps" 2>/dev/null)
	[ -n "$range" ] && break
	sleep 0.05
done
plan 3
ok "the state block is mapped" test -n "$range"
out=$(python3 - "/proc/$pid/map_files/$range" <<'PY'
import errno, fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
seals = fcntl.fcntl(fd, 1034)           # F_GET_SEALS
try:
    os.ftruncate(fd, 0)
    r = "truncated"
except OSError as e:
    r = errno.errorcode.get(e.errno, str(e.errno))
print(seals, r)
PY
)
set -- $out
is "${1:-}" 7 "sealed: F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW"
is "${2:-}" EPERM "ftruncate of the block fails with EPERM"
done_testing
