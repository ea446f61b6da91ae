# tests/cli: ksmpreload estimate (exact counts against an independent
# Python oracle, errors) and ksmpreload profile.
CLI_TESTS = tests/cli/estimate_exact.sh tests/cli/estimate_errors.sh \
	tests/cli/profile_basic.sh tests/cli/profile_python.sh \
	tests/cli/profile_node.sh tests/cli/estimate_vanish.sh \
	tests/cli/profile_debuginfo.sh tests/cli/estimate_data.sh
TESTS += $(CLI_TESTS)
EXTRA_DIST += $(CLI_TESTS) tests/cli/estimate_oracle.py
