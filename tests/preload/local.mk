# tests/preload: libksmpreload.so end to end (rules, region kinds, errno,
# real programs under the library), its exports, its control signal, the
# sealed state block, and hostile environments.
PRELOAD_TESTS = tests/preload/preload_rules.sh tests/preload/preload_regions.sh \
	tests/preload/startup_cost.sh \
	tests/preload/preload_kinds.sh tests/preload/preload_errno.sh \
	tests/preload/preload_misc.sh tests/preload/preload_policyerr.sh \
	tests/preload/preload_run.sh tests/preload/preload_python.sh \
	tests/preload/preload_node.sh tests/preload/preload_redis.sh \
	tests/preload/preload_memcached.sh tests/preload/preload_java.sh \
	tests/preload/preload_vmas.sh tests/preload/exports.sh \
	tests/preload/control_pause.sh tests/preload/state_seal.sh \
	tests/preload/env_fifo.sh tests/preload/env_garbage.sh \
	tests/preload/preload_mmthresh.sh tests/preload/preload_reserve.sh \
	tests/preload/preload_data.sh tests/preload/preload_tstack.sh \
	tests/preload/preload_early.sh tests/preload/preload_sandbox.sh \
	tests/preload/preload_forkwalk.sh tests/preload/sections.sh \
	tests/preload/preload_pool.sh tests/preload/preload_forkorder.sh \
	tests/preload/preload_remap.sh tests/preload/preload_chunkfail.sh \
	tests/preload/preload_rawfork.sh
TESTS += $(PRELOAD_TESTS)
EXTRA_DIST += $(PRELOAD_TESTS)
if HAVE_SECCOMP
check_PROGRAMS += tests/preload/ksmp-sandboxed
tests_preload_ksmp_sandboxed_SOURCES = tests/preload/ksmp-sandboxed.c
tests_preload_ksmp_sandboxed_CFLAGS = -std=gnu11 $(KSMP_WARN_CFLAGS)
tests_preload_ksmp_sandboxed_LDADD = -lseccomp
endif
