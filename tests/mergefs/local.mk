# tests/mergefs: the control agent against a fake mergefs (unit test), and
# real FUSE mounts: with the stand-in target, with real KSM (under
# tests/ksm-hold), with the real library, hostile targets, and formats
# and the man page against real files.
check_PROGRAMS += tests/mergefs/mergefs_agent
TESTS += tests/mergefs/mergefs_agent
tests_mergefs_mergefs_agent_SOURCES = tests/mergefs/mergefs_agent.c \
	tests/progs/mergefs_fake.c tests/progs/mergefs_fake.h \
	preload/control.c preload/control.h preload/engine.h
tests_mergefs_mergefs_agent_CPPFLAGS = $(tests_progs_mergefs_target_CPPFLAGS)
tests_mergefs_mergefs_agent_LDADD = $(DL_LIBS)
MERGEFS_TESTS = tests/mergefs/mergefs_basic.sh tests/mergefs/mergefs_ksm.sh \
	tests/mergefs/mergefs_lib.sh tests/mergefs/mergefs_robust.sh \
	tests/mergefs/mergefs_formats.sh tests/mergefs/mergefs_shortwrite.sh \
	tests/mergefs/mergefs_kept.sh
TESTS += $(MERGEFS_TESTS)
EXTRA_DIST += $(MERGEFS_TESTS)
