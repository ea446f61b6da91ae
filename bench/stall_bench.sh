#!/bin/sh
# stall_bench.sh - how long mergefs's sources of truth and mode auto's
# commands stall the target (issue 13: "no measurement stalls the target
# more than 5 ms"), side by side in one run (bench/ksmp-stall.c):
#   sources  a 1 GiB target's worst mmap+munmap while another process
#            reads its pagemap 2 MiB per pread, back to back and with
#            mergefs/auto.c's 50 us pause after each,
#            pagemap + kpageflags, smaps, smaps_rollup, ksm_stat; and the
#            reader's cost. Needs root (PFNs, kpageflags), not KSM.
#   agent    the target's time in the control agent (a thread of it that
#            takes the signal, and another one's mmap+munmap) for PING,
#            PRUNE and PROBE of 2 MiB, 64 MiB (the controller's
#            MAX_CMD_BYTES) and 256 MiB, and PRUNE of 64 MiB holding 1000
#            KSM pages and 100 (the controller's former bounds on KSM pages
#            per prune; it now prunes no range holding a shared page), in
#            two runs; under tests/ksm-hold (ksmd merges the alike pages).
# STALL_BENCH_ROUNDS (default 5), STALL_BENCH_SECS (seconds per source, 3).
set -u
B=${KSMP_BUILDDIR:?run through make bench}
ROUNDS=${STALL_BENCH_ROUNDS:-5}
SECS=${STALL_BENCH_SECS:-3}
LIB="$B/preload/libksmpreload.so"
X="$B/bench/ksmp-stall"

[ -x "$X" ] && [ -f "$LIB" ] || { echo "stall_bench: $X or $LIB not built"; exit 1; }
if [ "$(id -u)" -ne 0 ] || [ ! -w /sys/kernel/mm/ksm/run ]; then
	echo "stall_bench: needs root and KSM (/sys/kernel/mm/ksm/run); skipped"
	exit 0
fi
echo "stall_bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), nproc $(nproc)"
"$X" sources 1024 "$SECS" "$ROUNDS" || exit 1
echo
for k in 1000 100; do
	echo
	echo "(agent, $k KSM pages: ksmd pages_to_scan 2000 sleep_millisecs 10, tests/ksm-hold)"
	"$B/tests/ksm-hold" -p 2000 -s 10 -- "$X" agent "$LIB" 320 64 "$k" "$ROUNDS" || exit 1
done
