# tests: TAP harness shared by every component's tests. Components add
# their own test programs and scripts to TESTS / check_PROGRAMS in their
# local.mk files or in the sections below.
noinst_HEADERS += tests/tap.h tests/ksmtest.h
EXTRA_DIST += tests/tap.sh
check_PROGRAMS += tests/ksm-hold
tests_ksm_hold_SOURCES = tests/ksm-hold.c

# ---------------------------------------------------------------- preload
# End-to-end tests of libksmpreload.so (issue 3): small test programs under
# tests/progs, a caller .so, and TAP shell tests driving them.
check_PROGRAMS += tests/progs/ksmp-alloc tests/progs/ksmp-probe \
	tests/progs/ksmp-errno tests/progs/ksmp-misc \
	tests/progs/libksmpcaller.so
tests_progs_ksmp_alloc_SOURCES = tests/progs/ksmp-alloc.c
tests_progs_ksmp_alloc_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_progs_ksmp_alloc_LDADD = -ldl -lpthread
tests_progs_ksmp_probe_SOURCES = tests/progs/ksmp-probe.c
tests_progs_ksmp_probe_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_progs_ksmp_errno_SOURCES = tests/progs/ksmp-errno.c
tests_progs_ksmp_misc_SOURCES = tests/progs/ksmp-misc.c
tests_progs_ksmp_misc_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_progs_ksmp_misc_LDADD = -ldl -lpthread
# A shared object that calls mmap for the caller= tests, built like the
# library itself: a "program" linked with -shared.
tests_progs_libksmpcaller_so_SOURCES = tests/progs/libksmpcaller.c
tests_progs_libksmpcaller_so_CFLAGS = $(AM_CFLAGS) -fPIC
tests_progs_libksmpcaller_so_LDFLAGS = $(AM_LDFLAGS) -shared -fPIC
PRELOAD_TESTS = tests/preload_rules.sh tests/preload_regions.sh \
	tests/preload_kinds.sh tests/preload_errno.sh tests/preload_misc.sh \
	tests/preload_policyerr.sh tests/preload_run.sh \
	tests/preload_python.sh tests/preload_node.sh tests/preload_redis.sh \
	tests/preload_memcached.sh tests/preload_java.sh tests/preload_vmas.sh
TESTS += $(PRELOAD_TESTS)
EXTRA_DIST += $(PRELOAD_TESTS) tests/preload_common.sh
