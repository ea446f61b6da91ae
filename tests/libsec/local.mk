# tests/libsec: the library's and the CLI's security fixes of issue 10
# (items 2, 5, 9, 10, 11), and contain.sh, which runs every test of the
# suite so that nothing it starts outlives it (item 11).
KSMP_CONTAIN = $(SHELL) $(top_srcdir)/tests/libsec/contain.sh
LIBSEC_TESTS = tests/libsec/contain_self.sh tests/libsec/secure_argv0.sh \
	tests/libsec/policy_trust.sh tests/libsec/estimate_hostile.sh \
	tests/libsec/profile_escape.sh
TESTS += $(LIBSEC_TESTS)
EXTRA_DIST += $(LIBSEC_TESTS) tests/libsec/contain.sh tests/libsec/common.sh
# hostile targets: pages colliding under a known hash key and an escape
# sequence for a name (estimate); memory from a DSO named to inject
# policy lines (profile)
check_PROGRAMS += tests/libsec/estimate_collide tests/libsec/profile_dso
tests_libsec_estimate_collide_SOURCES = tests/libsec/estimate_collide.c
tests_libsec_profile_dso_SOURCES = tests/libsec/profile_dso.c
tests_libsec_profile_dso_LDADD = -ldl
