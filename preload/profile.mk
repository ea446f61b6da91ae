# ksmpreload profile (issue 6): tests and benchmark. Included from
# preload/local.mk for now; meant to be included from Makefile.am.
PROFILE_TESTS = tests/profile_basic.sh tests/profile_python.sh \
	tests/profile_node.sh
TESTS += $(PROFILE_TESTS)
EXTRA_DIST += $(PROFILE_TESTS) tests/profile_common.sh preload/profile.mk \
	bench/profile_python.sh
check_PROGRAMS += tests/progs/profile_hold
tests_progs_profile_hold_SOURCES = tests/progs/profile_hold.c
BENCHES += bench/profile_python.sh
