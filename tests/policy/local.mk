# tests/policy: the policy library's unit tests (parser, selection, the
# fuzz target replayed, no allocation) and `ksmpreload check`.
POLICY_UNIT_TESTS = tests/policy/policy_parse tests/policy/policy_select \
	tests/policy/policy_fuzz_replay tests/policy/policy_noalloc \
	tests/policy/policy_names
check_PROGRAMS += $(POLICY_UNIT_TESTS)
TESTS += $(POLICY_UNIT_TESTS) tests/policy/policy_check.sh
EXTRA_DIST += tests/policy/policy_check.sh
tests_policy_policy_parse_SOURCES = tests/policy/policy_parse.c
tests_policy_policy_parse_LDADD = policy/libksmppolicy.a
tests_policy_policy_select_SOURCES = tests/policy/policy_select.c
tests_policy_policy_select_LDADD = policy/libksmppolicy.a
tests_policy_policy_fuzz_replay_SOURCES = tests/policy/policy_fuzz_replay.c \
	policy/fuzz_policy.c
tests_policy_policy_fuzz_replay_LDADD = policy/libksmppolicy.a
tests_policy_policy_noalloc_SOURCES = tests/policy/policy_noalloc.c
tests_policy_policy_noalloc_LDADD = policy/libksmppolicy.a
tests_policy_policy_names_SOURCES = tests/policy/policy_names.c
tests_policy_policy_names_LDADD = policy/libksmppolicy.a
