# ksmpreload estimate: tests and benchmarks (sources are in preload/local.mk)
#
# tests/progs/estimate_hold holds known memory of every kind. It is built
# without the sanitizers on purpose: ASan's allocator would replace glibc's
# heap and arenas, which are what it must hold (the command under test,
# preload/ksmpreload, is still built with them).
check_PROGRAMS += tests/progs/estimate_hold
tests_progs_estimate_hold_SOURCES = tests/progs/estimate_hold.c
tests_progs_estimate_hold_CFLAGS = -std=gnu11 $(KSMP_WARN_CFLAGS)
tests_progs_estimate_hold_LDFLAGS = -pthread
tests_progs_estimate_hold_LDADD = $(PTHREAD_LIBS)

ESTIMATE_TESTS = tests/estimate_exact.sh tests/estimate_errors.sh
TESTS += $(ESTIMATE_TESTS)
EXTRA_DIST += $(ESTIMATE_TESTS) tests/estimate_oracle.py

# `make bench`: estimate ~4 GiB held by 4 processes, print the time.
BENCHES += bench/estimate_bench
EXTRA_DIST += bench/estimate_bench.sh
CLEANFILES += bench/estimate_bench
bench/estimate_bench: $(srcdir)/bench/estimate_bench.sh tests/progs/estimate_hold
	$(AM_V_GEN)$(MKDIR_P) bench && cp $(srcdir)/bench/estimate_bench.sh $@ && chmod +x $@
