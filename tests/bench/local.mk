# tests/bench: tests of the benchmark tools (bench/real).
check_PROGRAMS += tests/bench/ksmp-layout
tests_bench_ksmp_layout_SOURCES = tests/bench/ksmp-layout.c
BENCH_TESTS = tests/bench/pagestat.sh
TESTS += $(BENCH_TESTS)
EXTRA_DIST += $(BENCH_TESTS)
