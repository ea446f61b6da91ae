# tests/security: regression tests of issue 10 (hostile users and hostile
# processes against mergefs): load, sequence numbers, ownership, leaks,
# escaping, exec and state-block checks.
MFSEC_TESTS = tests/security/seq_unique.sh
TESTS += $(MFSEC_TESTS)
EXTRA_DIST += $(MFSEC_TESTS)
