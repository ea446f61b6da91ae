# tests/safety: who may see and steer a process (security_*), nothing lost
# under load (stress_*), and mergefs against many, exiting, reused and
# lying targets (safety_*), with a regression test for each bug found:
# control bytes reaching readers (safety_escape.sh), a merge write killing
# a process that does not catch the named signal (safety_signo.sh), a
# signed overflow of advised bytes in /metrics (safety_advsum.sh), the
# real uid taken as the owner of a setuid process (security_owner.sh).
SAFETY_TESTS = tests/safety/security_ctl.sh tests/safety/security_files.sh \
	tests/safety/security_owner.sh \
	tests/safety/stress_nothing_lost.sh tests/safety/stress_load.sh \
	tests/safety/safety_load.sh tests/safety/safety_reuse.sh \
	tests/safety/safety_corrupt.sh tests/safety/safety_escape.sh \
	tests/safety/safety_signo.sh tests/safety/safety_advsum.sh
TESTS += $(SAFETY_TESTS)
EXTRA_DIST += $(SAFETY_TESTS) SECURITY.md
