# tests/hosts: fitting real hosts (issue 12): ksmd state, MemoryKSM=,
# packaging, the README tour.
HOSTS_TESTS = tests/hosts/memoryksm.sh tests/hosts/ksmd.sh \
	tests/hosts/install.sh tests/hosts/tour.sh tests/hosts/cli.sh \
	tests/hosts/estimate_select.sh tests/hosts/profile.sh
TESTS += $(HOSTS_TESTS)
EXTRA_DIST += $(HOSTS_TESTS) tests/hosts/tour_extract.py

# The configured directories, for tests/hosts/install.sh and tour.sh.
.PHONY: hosts-print-dirs
hosts-print-dirs:
	@echo "prefix='$(prefix)' bindir='$(bindir)' sbindir='$(sbindir)'"
	@echo "sysconfdir='$(sysconfdir)' pkglibdir='$(pkglibdir)' mandir='$(mandir)'"
	@echo "policydir='$(policydir)' vendorpolicydir='$(vendorpolicydir)' docdir='$(docdir)'"
	@echo "systemdsystemunitdir='$(systemdsystemunitdir)'"
