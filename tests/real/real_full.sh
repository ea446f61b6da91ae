#!/bin/sh
# real_full - the long real suites for make check-real (bounded: about 8
# minutes on 2 cores, 11 with the attach runs): Python's regression tests for mmap, threading, fork,
# signals, subprocess, os, multiprocessing and gc; stress-ng --verify for
# the mmap, mremap, brk, malloc, fork, pthread and madvise stressors (5 s
# each); a sqlite3 workload of a million rows. Each runs without the
# library, with it (policy "merge any"), with it while mergefs toggles
# merge/unmerge every ~300 ms, and without it while ksmpreload attach and
# detach run on each of its processes every ~50 ms (process and regions
# modes by turns), and must give the same results, test case by test case.
# See tests/real/real_lib.sh.
KSMP_REAL_SOURCED=1
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/real/real_quick.sh"
real_main "test_mmap test_threading test_fork1 test_signal test_subprocess test_os test_multiprocessing_fork test_gc" \
	"${KSMP_REAL_STRESS_SECS:-5}" 1000000
