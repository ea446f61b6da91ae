# bench: build rules, included from the top Makefile.am
# libksmpreload.so benchmarks (issue 3): `make bench` runs bench/ksmp-bench,
# which measures side by side (none / whole-process merging / policy) and
# writes bench/results.md. The helper programs are built with the tests.
check_PROGRAMS += bench/ksmp-watch bench/ksmp-mbench
bench_ksmp_watch_SOURCES = bench/ksmp-watch.c
bench_ksmp_watch_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
bench_ksmp_mbench_SOURCES = bench/ksmp-mbench.c
bench_ksmp_mbench_LDADD = -lpthread
BENCHES += bench/ksmp-bench
EXTRA_DIST += bench/ksmp-bench.sh bench/results.md
CLEANFILES += bench/ksmp-bench
bench/ksmp-bench: $(srcdir)/bench/ksmp-bench.sh tests/ksm-hold \
		tests/progs/ksmp-alloc tests/progs/ksmp-probe \
		bench/ksmp-watch bench/ksmp-mbench
	$(AM_V_GEN)$(MKDIR_P) bench && cp $(srcdir)/bench/ksmp-bench.sh $@ && chmod +x $@

# mergefs under concurrent readers and writers.
check_PROGRAMS += bench/mergefs_bench
BENCHES += bench/mergefs_bench
bench_mergefs_bench_SOURCES = bench/mergefs_bench.c
bench_mergefs_bench_DEPENDENCIES = mergefs/mergefs$(EXEEXT) tests/progs/mergefs_target$(EXEEXT)

# Start-up cost (200 x /bin/true, python3 -c pass) and the malloc fast
# path, with / without the library, side by side (issue 13).
# bench/ksmp-spawn times each exec (posix_spawn, every variant once per
# round in rotating order): exec_bench.sh runs it first.
check_PROGRAMS += bench/ksmp-spawn
bench_ksmp_spawn_SOURCES = bench/ksmp-spawn.c
BENCHES += bench/exec_bench.sh
EXTRA_DIST += bench/exec_bench.sh

# How long reading /proc (pagemap, kpageflags, smaps, smaps_rollup,
# ksm_stat) and the agent's prune/probe commands stall the target
# (issue 13: no measurement stalls the target more than 5 ms).
check_PROGRAMS += bench/ksmp-stall
bench_ksmp_stall_SOURCES = bench/ksmp-stall.c
bench_ksmp_stall_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/policy -I$(top_srcdir)/tests
bench_ksmp_stall_LDADD = -lpthread
BENCHES += bench/stall_bench.sh
EXTRA_DIST += bench/stall_bench.sh

# What the mode auto controller pays to count a record's present pages:
# every pagemap entry read, or PAGEMAP_SCAN's present runs (issue 13).
check_PROGRAMS += bench/ksmp-pmscan
bench_ksmp_pmscan_SOURCES = bench/ksmp-pmscan.c
BENCHES += bench/ksmp-pmscan
