#!/bin/sh
# stress_load - load under the library (policy "merge any", regions
# engine, control agent on): 64 threads of malloc/free/mmap/munmap/mremap
# storms and 4 fork(+exec) storms for 6 s, under a watchdog
# (tests/progs/stress_load.c): no deadlock, no crash, no corruption, no
# failed child; the VMA count stays bounded and returns near where it
# started; the library leaks no fd. The same program without the library
# gives the baseline VMA figures.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
command -v timeout >/dev/null 2>&1 || skip_all_env "timeout (coreutils) not installed"
P=$KSMP_BUILDDIR/tests/progs/stress_load
[ -f "$(ksmp_lib)" ] || skip_all "libksmpreload.so not built"
OUT=$(mktemp -d /tmp/ksmp-load.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
trap 'exit 1' INT TERM HUP
cat > "$OUT/t.policy" <<'POL'
name    stress-load
mode    regions
control yes
merge   any
POL
SECS=${KSMP_LOAD_SECS:-6}
FORKERS=4
# gcc's ASan runtime can deadlock a child forked while other threads hold
# its allocator locks, with or without our library: no fork storm there
sanitized && FORKERS=0
plan 8
timeout -s KILL $((SECS + 40)) "$P" 64 $FORKERS "$SECS" > "$OUT/base" 2> "$OUT/base.err"
diag "without the library: $(cat "$OUT/base")"
timeout -s KILL $((SECS + 40)) env LD_PRELOAD="$(ksmp_preload)" KSMP_POLICY="$OUT/t.policy" \
	"$P" 64 $FORKERS "$SECS" > "$OUT/lib" 2> "$OUT/lib.err"
rc=$?
diag "with the library:    $(cat "$OUT/lib")"
[ -s "$OUT/lib.err" ] && sed -n '1,10s/^/# err: /p' "$OUT/lib.err"
is "$rc" 0 "64 threads + 4 fork storms finish: no deadlock (watchdog), crash or corruption"
v() { awk -v i="$2" '{print $i}' "$OUT/$1"; }
ok "the storms ran ($(v lib 9) operations)" test "$(v lib 9)" -gt 10000
if [ $FORKERS -gt 0 ]; then
	ok "the fork storms ran ($(v lib 11) forks, $(v base 11) without the library)" test "$(v lib 11)" -gt 4
else
	skip 1 "no fork storm under ASan (its allocator locks deadlock forked children)"
fi
is "$(v lib 13)" 0 "no corrupted block, no failed child"
# VMAs: the peak may exceed the baseline's by what the library adds
# (bounded, regions advised whole), never by an order of magnitude
peak=$(v lib 3); bpeak=$(v base 3)
ok "the VMA peak is bounded ($peak with, $bpeak without)" test "$peak" -le $((bpeak * 2 + 500))
# what is left after the storms, compared with the same run without us
# (allocators, ASan's in particular, keep some mappings)
grow=$(( $(v lib 4) - $(v lib 2) )); bgrow=$(( $(v base 4) - $(v base 2) ))
ok "the VMA count returns near its start (+$grow with, +$bgrow without)" test "$grow" -le $((bgrow + 200))
is "$(v lib 7)" "$(v lib 6)" "no fd leaked ($(v lib 6) before and after)"
is "$(v lib 7)" "$(v base 7)" "the library adds no fd to the program"
done_testing
