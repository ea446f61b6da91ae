# policy: the policy language library (parser, selection, matcher) and the
# shipped policies.
noinst_LIBRARIES += policy/libksmppolicy.a
policy_libksmppolicy_a_SOURCES = policy/policy.h policy/policy.c
# Linked into libksmpreload.so, so position-independent.
policy_libksmppolicy_a_CFLAGS = $(AM_CFLAGS) -fPIC $(KSMP_VIS_CFLAGS)
