# mergefs: the FUSE daemon, its tests and benchmarks, and the control
# agent's tests (preload/control.c itself is built into the library by
# preload/local.mk).
sbin_PROGRAMS += mergefs/mergefs
mergefs_mergefs_SOURCES = mergefs/mergefs.c mergefs/mergefs.h \
	mergefs/files.c mergefs/proc.c mergefs/target.c mergefs/sender.c \
	mergefs/render.c
mergefs_mergefs_CFLAGS = $(AM_CFLAGS) $(FUSE3_CFLAGS)
mergefs_mergefs_LDADD = $(FUSE3_LIBS) $(PTHREAD_LIBS)

check_PROGRAMS += tests/progs/mergefs_write tests/progs/mergefs_fuzz \
	tests/progs/mergefs_promcheck
tests_progs_mergefs_write_SOURCES = tests/progs/mergefs_write.c
tests_progs_mergefs_fuzz_SOURCES = tests/progs/mergefs_fuzz.c
tests_progs_mergefs_promcheck_SOURCES = tests/progs/mergefs_promcheck.c

# A stand-in for the library: a state block + the real control agent.
check_PROGRAMS += tests/progs/mergefs_target
tests_progs_mergefs_target_SOURCES = tests/progs/mergefs_target.c \
	tests/progs/mergefs_fake.c tests/progs/mergefs_fake.h \
	preload/control.c preload/control.h preload/engine.h
tests_progs_mergefs_target_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/preload -I$(top_srcdir)/tests -I$(top_srcdir)/tests/progs
tests_progs_mergefs_target_LDADD = $(DL_LIBS) $(PTHREAD_LIBS)

check_PROGRAMS += tests/mergefs_agent
TESTS += tests/mergefs_agent
tests_mergefs_agent_SOURCES = tests/mergefs_agent.c \
	tests/progs/mergefs_fake.c tests/progs/mergefs_fake.h \
	preload/control.c preload/control.h preload/engine.h
tests_mergefs_agent_CPPFLAGS = $(tests_progs_mergefs_target_CPPFLAGS) -I$(top_srcdir)/tests/progs
tests_mergefs_agent_LDADD = $(DL_LIBS)

# Real FUSE mounts: with the stand-in target, with real KSM (under
# tests/ksm-hold), with the real library, and hostile targets, formats
# and the man page against real files; mergefs_common.sh is their
# shared, sourced helper.
TESTS += tests/mergefs_basic.sh tests/mergefs_ksm.sh tests/mergefs_lib.sh \
	tests/mergefs_robust.sh tests/mergefs_formats.sh
EXTRA_DIST += tests/mergefs_basic.sh tests/mergefs_ksm.sh tests/mergefs_lib.sh \
	tests/mergefs_robust.sh tests/mergefs_formats.sh tests/mergefs_common.sh

# bench: run by `make bench` (a check program, so only built on demand)
check_PROGRAMS += bench/mergefs_bench
BENCHES += bench/mergefs_bench
bench_mergefs_bench_SOURCES = bench/mergefs_bench.c
bench_mergefs_bench_DEPENDENCIES = mergefs/mergefs$(EXEEXT) tests/progs/mergefs_target$(EXEEXT)

dist_man_MANS += man/mergefs.8
EXTRA_DIST += mergefs/mergefs.service mergefs/fstab.example
