# tests: TAP harness shared by every component's tests. Components add
# their own test programs and scripts to TESTS / check_PROGRAMS in their
# local.mk files or in the sections below.
noinst_HEADERS += tests/tap.h tests/ksmtest.h
EXTRA_DIST += tests/tap.sh
check_PROGRAMS += tests/ksm-hold
tests_ksm_hold_SOURCES = tests/ksm-hold.c
