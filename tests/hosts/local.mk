# tests/hosts: fitting real hosts (issue 12): ksmd state, MemoryKSM=,
# packaging, the README tour.
HOSTS_TESTS = tests/hosts/memoryksm.sh tests/hosts/ksmd.sh
TESTS += $(HOSTS_TESTS)
EXTRA_DIST += $(HOSTS_TESTS)
