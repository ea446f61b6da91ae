# tests/security: regression tests of issue 10 (hostile users and hostile
# processes against mergefs): load, sequence numbers, ownership, leaks,
# escaping, exec and state-block checks.
MFSEC_TESTS = tests/security/seq_unique.sh tests/security/load_dos.sh \
	tests/security/escape_utf8.sh tests/security/owner_race.sh \
	tests/security/outsider.sh tests/security/block_kind.sh \
	tests/security/exec_reattach.sh tests/security/maps_budget.sh
TESTS += $(MFSEC_TESTS)
EXTRA_DIST += $(MFSEC_TESTS)

# load_dos.sh: a hostile user's load (sec_hammer) against everybody else
check_PROGRAMS += tests/security/sec_hammer
tests_security_sec_hammer_SOURCES = tests/security/sec_hammer.c
tests_security_sec_hammer_LDADD = $(PTHREAD_LIBS)
