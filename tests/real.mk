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
# subset runs in make check; make check-real runs the long one (about 8
# minutes on 2 cores; each suite has its own time limit).
REAL_QUICK_TESTS = tests/real_quick.sh
TESTS += $(REAL_QUICK_TESTS)
EXTRA_DIST += $(REAL_QUICK_TESTS) tests/real_full.sh tests/real_lib.sh
.PHONY: check-real
check-real:
	$(MAKE) $(AM_MAKEFLAGS) check TESTS='tests/real_full.sh'

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
