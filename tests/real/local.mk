# tests/real: real programs' own test suites with and without the library,
# with mergefs toggling merge/unmerge meanwhile, and without it under
# repeated ksmpreload attach/detach (real_lib.sh). The short
# subset runs in make check; make check-real runs the long one and numpy's
# own test suite (about 12 minutes on 2 cores).
TESTS += tests/real/real_quick.sh
EXTRA_DIST += tests/real/real_quick.sh tests/real/real_full.sh \
	tests/real/real_lib.sh tests/real/real_numpy.sh
.PHONY: check-real
check-real:
	$(MAKE) $(AM_MAKEFLAGS) check TESTS='tests/real/real_full.sh tests/real/real_numpy.sh'
