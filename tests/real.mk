# Issue 5: real programs' test suites, stress with verification, security
# tests. Fast parts run in `make check`; `make check-real` runs the long
# suites (tests/real_full.sh), bounded in time.

# ---------------------------------------------------------------- security
check_PROGRAMS += tests/progs/security_ctl
tests_progs_security_ctl_SOURCES = tests/progs/security_ctl.c
SECURITY_TESTS = tests/security_ctl.sh tests/security_files.sh
# Regression tests of the two bugs the safety pass found (both fixed):
# mergefs took the real uid as the owner of a setuid/privileged process
# (security_owner.sh); KSMP_POLICY naming a FIFO hung every program in the
# library's constructor (env_fifo.sh).
SECURITY_TESTS += tests/security_owner.sh tests/env_fifo.sh
TESTS += $(SECURITY_TESTS)
EXTRA_DIST += $(SECURITY_TESTS)
EXTRA_DIST += SECURITY.md

# ---------------------------------------------------------------- env
ENV_TESTS = tests/env_garbage.sh
TESTS += $(ENV_TESTS)
EXTRA_DIST += $(ENV_TESTS)

# ---------------------------------------------------------------- real suites
# Real programs' own test suites with and without the library, and with
# mergefs toggling merge/unmerge meanwhile (tests/real_lib.sh). The short
# subset runs in make check; make check-real runs the long one and
# numpy's own test suite (about 12 minutes on 2 cores).
REAL_QUICK_TESTS = tests/real_quick.sh
TESTS += $(REAL_QUICK_TESTS)
EXTRA_DIST += $(REAL_QUICK_TESTS) tests/real_full.sh tests/real_lib.sh \
	tests/real_numpy.sh
.PHONY: check-real
check-real:
	$(MAKE) $(AM_MAKEFLAGS) check TESTS='tests/real_full.sh tests/real_numpy.sh'

# ---------------------------------------------------------------- stress
check_PROGRAMS += tests/progs/stress_nothing_lost
tests_progs_stress_nothing_lost_SOURCES = tests/progs/stress_nothing_lost.c
tests_progs_stress_nothing_lost_LDADD = $(PTHREAD_LIBS)
STRESS_TESTS = tests/stress_nothing_lost.sh
check_PROGRAMS += tests/progs/stress_load
tests_progs_stress_load_SOURCES = tests/progs/stress_load.c
tests_progs_stress_load_LDADD = $(PTHREAD_LIBS)
STRESS_TESTS += tests/stress_load.sh
TESTS += $(STRESS_TESTS)
EXTRA_DIST += $(STRESS_TESTS)

# ---------------------------------------------------------------- safety 2
# mergefs under load (200 real processes under the library, 8 workers),
# writes racing exiting processes and reused pids (in a new pid namespace),
# a corrupted state block. All fast: make check.
check_PROGRAMS += tests/progs/safety_load tests/progs/safety_reuse \
	tests/progs/safety_corrupt
noinst_HEADERS += tests/progs/safety_util.h
tests_progs_safety_load_SOURCES = tests/progs/safety_load.c
tests_progs_safety_load_LDADD = $(PTHREAD_LIBS)
tests_progs_safety_reuse_SOURCES = tests/progs/safety_reuse.c
tests_progs_safety_reuse_LDADD = $(PTHREAD_LIBS)
tests_progs_safety_corrupt_SOURCES = tests/progs/safety_corrupt.c \
	tests/progs/mergefs_fake.c tests/progs/mergefs_fake.h \
	preload/control.c preload/control.h preload/engine.h
tests_progs_safety_corrupt_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/preload \
	-I$(top_srcdir)/tests -I$(top_srcdir)/tests/progs
tests_progs_safety_corrupt_LDADD = $(DL_LIBS) $(PTHREAD_LIBS)
SAFETY2_TESTS = tests/safety_load.sh tests/safety_reuse.sh tests/safety_corrupt.sh
# Regression tests of the three mergefs bugs this pass found (all fixed,
# bugs-mergefs.md "[safety2]"): control bytes (terminal escapes) from a
# block reached readers (safety_escape.sh); a block naming a signal its
# process does not catch got it killed by a merge write (safety_signo.sh);
# a signed sum of a block's advised bytes overflowed in /metrics, aborting
# the sanitizer build (safety_advsum.sh).
SAFETY2_TESTS += tests/safety_escape.sh tests/safety_signo.sh tests/safety_advsum.sh
TESTS += $(SAFETY2_TESTS)
EXTRA_DIST += $(SAFETY2_TESTS)
