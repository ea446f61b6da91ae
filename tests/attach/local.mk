# tests/attach: `ksmpreload attach` / `detach` (issue 11). The target
# programs are built without the sanitizers: the tests check the exact
# results of their blocked system calls, not our code.
if KSMP_ATTACH
check_PROGRAMS += tests/attach/attach_target
tests_attach_attach_target_SOURCES = tests/attach/attach_target.c
tests_attach_attach_target_CFLAGS = -std=gnu11 $(KSMP_WARN_CFLAGS)
tests_attach_attach_target_LDFLAGS = -pthread
tests_attach_attach_target_LDADD = $(PTHREAD_LIBS)
if HAVE_SECCOMP
check_PROGRAMS += tests/attach/attach_seccomp
tests_attach_attach_seccomp_SOURCES = tests/attach/attach_seccomp.c
tests_attach_attach_seccomp_CFLAGS = -std=gnu11 $(KSMP_WARN_CFLAGS)
tests_attach_attach_seccomp_LDADD = -lseccomp
endif
check_PROGRAMS += tests/attach/attach_bpf
tests_attach_attach_bpf_SOURCES = tests/attach/attach_bpf.c cli/attach/bpf.c
tests_attach_attach_bpf_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests \
	-I$(top_srcdir)/cli/attach
ATTACH_TESTS = tests/attach/attach_bpf tests/attach/attach_merge.sh \
	tests/attach/attach_shortwrite.sh \
	tests/attach/attach_refuse.sh tests/attach/attach_blocked.sh \
	tests/attach/attach_signals.sh tests/attach/attach_seccomp.sh \
	tests/attach/attach_static.sh tests/attach/attach_real.sh \
	tests/attach/attach_watch.sh tests/attach/attach_vanish.sh \
	tests/attach/attach_record.sh tests/attach/attach_exec.sh \
	tests/attach/attach_threads.sh
TESTS += $(ATTACH_TESTS)
endif
EXTRA_DIST += tests/attach/attach_merge.sh tests/attach/attach_refuse.sh \
	tests/attach/attach_blocked.sh tests/attach/attach_signals.sh \
	tests/attach/attach_seccomp.sh tests/attach/attach_static.sh \
	tests/attach/attach_real.sh tests/attach/attach_watch.sh \
	tests/attach/attach_vanish.sh tests/attach/attach_shortwrite.sh \
	tests/attach/attach_common.sh tests/attach/attach_record.sh \
	tests/attach/attach_exec.sh tests/attach/attach_threads.sh \
	tests/attach/attach_i386.c
