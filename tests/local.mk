# tests: the TAP harness shared by every component's tests, and the helper
# programs under tests/progs that several of them drive. Each component's
# tests are registered by tests/<component>/local.mk.
noinst_HEADERS += tests/tap.h tests/ksmtest.h
EXTRA_DIST += tests/tap.sh tests/install-deps.sh tests/preload_common.sh \
	tests/profile_common.sh tests/mergefs_common.sh \
	tests/shortwrite_common.sh
check_PROGRAMS += tests/ksm-hold
tests_ksm_hold_SOURCES = tests/ksm-hold.c

# ------------------------------------------------------- library targets
# Small programs run under the library, and a shared object that calls
# mmap for the caller= tests, built like the library itself: a "program"
# linked with -shared.
check_PROGRAMS += tests/progs/ksmp-alloc tests/progs/ksmp-probe \
	tests/progs/ksmp-errno tests/progs/ksmp-misc \
	tests/progs/ksmp-mmthresh tests/progs/ksmp-reserve \
	tests/progs/libksmpcaller.so
tests_progs_ksmp_alloc_SOURCES = tests/progs/ksmp-alloc.c
tests_progs_ksmp_alloc_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_progs_ksmp_alloc_LDADD = -ldl -lpthread
tests_progs_ksmp_probe_SOURCES = tests/progs/ksmp-probe.c
tests_progs_ksmp_probe_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_progs_ksmp_probe_LDADD = policy/libksmppolicy.a
tests_progs_ksmp_errno_SOURCES = tests/progs/ksmp-errno.c
tests_progs_ksmp_misc_SOURCES = tests/progs/ksmp-misc.c
tests_progs_ksmp_mmthresh_SOURCES = tests/progs/ksmp-mmthresh.c
tests_progs_ksmp_reserve_SOURCES = tests/progs/ksmp-reserve.c
tests_progs_ksmp_misc_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_progs_ksmp_misc_LDADD = -ldl -lpthread
tests_progs_libksmpcaller_so_SOURCES = tests/progs/libksmpcaller.c
tests_progs_libksmpcaller_so_CFLAGS = $(AM_CFLAGS) -fPIC
tests_progs_libksmpcaller_so_LDFLAGS = $(AM_LDFLAGS) -shared -fPIC
# The data kind: a program with large .bss and .data, and one shared
# object with a large .bss built under two names, one of them a crypto
# library's (tests/preload/preload_data.sh).
check_PROGRAMS += tests/progs/ksmp-tstack
tests_progs_ksmp_tstack_SOURCES = tests/progs/ksmp-tstack.c
tests_progs_ksmp_tstack_LDADD = -lpthread
check_PROGRAMS += tests/progs/ksmp-data tests/progs/libksmpdata.so \
	tests/progs/libcrypto.so.ksmpdata tests/progs/libksmpdlhook.so
tests_progs_ksmp_data_SOURCES = tests/progs/ksmp-data.c
tests_progs_ksmp_data_LDADD = -ldl -lpthread
tests_progs_libksmpdata_so_SOURCES = tests/progs/libksmpdata.c
tests_progs_libksmpdata_so_CFLAGS = $(AM_CFLAGS) -fPIC
tests_progs_libksmpdata_so_LDFLAGS = $(AM_LDFLAGS) -shared -fPIC
tests_progs_libcrypto_so_ksmpdata_SOURCES = tests/progs/libksmpdata.c
tests_progs_libcrypto_so_ksmpdata_CFLAGS = $(AM_CFLAGS) -fPIC
tests_progs_libcrypto_so_ksmpdata_LDFLAGS = $(AM_LDFLAGS) -shared -fPIC
# A fork by another thread right after the real dlclose, before the
# library hears of it (preloaded after the library).
tests_progs_libksmpdlhook_so_SOURCES = tests/progs/libksmpdlhook.c
tests_progs_libksmpdlhook_so_CFLAGS = $(AM_CFLAGS) -fPIC
tests_progs_libksmpdlhook_so_LDFLAGS = $(AM_LDFLAGS) -shared -fPIC
tests_progs_libksmpdlhook_so_LDADD = -ldl -lpthread
# Mappings made by libraries' constructors, which run before the
# library's (tests/preload/preload_early.sh): the program finds both
# objects next to it ($ORIGIN), one of them named like a crypto library.
check_PROGRAMS += tests/progs/ksmp-early tests/progs/libksmpearly.so \
	tests/progs/libgcrypt.so.ksmpearly
tests_progs_ksmp_early_SOURCES = tests/progs/ksmp-early.c
tests_progs_ksmp_early_LDFLAGS = $(AM_LDFLAGS) -Wl,-rpath,'$$ORIGIN'
tests_progs_ksmp_early_LDADD = tests/progs/libksmpearly.so tests/progs/libgcrypt.so.ksmpearly
tests_progs_ksmp_early_DEPENDENCIES = tests/progs/libksmpearly.so tests/progs/libgcrypt.so.ksmpearly
tests_progs_libksmpearly_so_SOURCES = tests/progs/libksmpearly.c
tests_progs_libksmpearly_so_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_progs_libksmpearly_so_CFLAGS = $(AM_CFLAGS) -fPIC
tests_progs_libksmpearly_so_LDFLAGS = $(AM_LDFLAGS) -shared -fPIC -Wl,-soname,libksmpearly.so
tests_progs_libgcrypt_so_ksmpearly_SOURCES = tests/progs/libksmpearly.c
tests_progs_libgcrypt_so_ksmpearly_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_progs_libgcrypt_so_ksmpearly_CFLAGS = $(AM_CFLAGS) -fPIC -DEARLY_BASE=10 \
	-DEARLY_FN=ksmp_early_crypto
tests_progs_libgcrypt_so_ksmpearly_LDFLAGS = $(AM_LDFLAGS) -shared -fPIC \
	-Wl,-soname,libgcrypt.so.ksmpearly
# A dlsym that allocates, preloaded before the library: the allocations
# made during the library's lookups come from the bootstrap pool
# (tests/preload/preload_pool.sh).
check_PROGRAMS += tests/progs/libksmpdlwrap.so
tests_progs_libksmpdlwrap_so_SOURCES = tests/progs/libksmpdlwrap.c
tests_progs_libksmpdlwrap_so_CFLAGS = $(AM_CFLAGS) -fPIC
tests_progs_libksmpdlwrap_so_LDFLAGS = $(AM_LDFLAGS) -shared -fPIC
tests_progs_libksmpdlwrap_so_LDADD = -ldl
# Forks while other threads take the library's slow paths
# (tests/preload/preload_forkwalk.sh).
check_PROGRAMS += tests/progs/ksmp-forkwalk
tests_progs_ksmp_forkwalk_SOURCES = tests/progs/ksmp-forkwalk.c
tests_progs_ksmp_forkwalk_LDADD = -ldl -lpthread
# A child fork handler registered before the library's
# (tests/preload/preload_forkorder.sh, preloaded after the library); it
# does what ksmp-forkwalk's children do (ksmp-childwork.h).
check_PROGRAMS += tests/progs/libksmpforkhook.so
tests_progs_libksmpforkhook_so_SOURCES = tests/progs/libksmpforkhook.c
tests_progs_libksmpforkhook_so_CFLAGS = $(AM_CFLAGS) -fPIC
tests_progs_libksmpforkhook_so_LDFLAGS = $(AM_LDFLAGS) -shared -fPIC
tests_progs_libksmpforkhook_so_LDADD = -lpthread
if KSMP_ATFORK_COMPAT
# The same, registered through glibc's compat pthread_atfork (in libc,
# past the library's __register_atfork): the library defines it too.
check_PROGRAMS += tests/progs/libksmpforkhookcompat.so
tests_progs_libksmpforkhookcompat_so_SOURCES = tests/progs/libksmpforkhook.c
tests_progs_libksmpforkhookcompat_so_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/include -DKSMP_FORKHOOK_COMPAT
tests_progs_libksmpforkhookcompat_so_CFLAGS = $(AM_CFLAGS) -fPIC
tests_progs_libksmpforkhookcompat_so_LDFLAGS = $(AM_LDFLAGS) -shared -fPIC
tests_progs_libksmpforkhookcompat_so_LDADD = -lpthread
endif
noinst_HEADERS += tests/progs/ksmp-childwork.h
# Children made without fork handlers: _Fork, syscall(SYS_fork), clone
# without CLONE_VM (tests/preload/preload_rawfork.sh).
check_PROGRAMS += tests/progs/ksmp-rawfork
tests_progs_ksmp_rawfork_SOURCES = tests/progs/ksmp-rawfork.c

# ---------------------------------------------------- estimate, profile
# estimate_hold holds known memory of every kind. It is built without the
# sanitizers on purpose: ASan's allocator would replace glibc's heap and
# arenas, which are what it must hold (the command under test is still
# built with them).
check_PROGRAMS += tests/progs/estimate_hold tests/progs/profile_hold
tests_progs_estimate_hold_SOURCES = tests/progs/estimate_hold.c
tests_progs_estimate_hold_CFLAGS = -std=gnu11 $(KSMP_WARN_CFLAGS)
tests_progs_estimate_hold_LDFLAGS = -pthread
tests_progs_estimate_hold_LDADD = $(PTHREAD_LIBS)
tests_progs_profile_hold_SOURCES = tests/progs/profile_hold.c

# ------------------------------------------------------ mergefs targets
# A stand-in for the library: a state block + the real control agent;
# a writer, a fuzzer and a Prometheus format checker.
check_PROGRAMS += tests/progs/mergefs_write tests/progs/alarm_write tests/progs/mergefs_fuzz \
	tests/progs/mergefs_promcheck tests/progs/mergefs_target
tests_progs_mergefs_write_SOURCES = tests/progs/mergefs_write.c
tests_progs_alarm_write_SOURCES = tests/progs/alarm_write.c
tests_progs_mergefs_fuzz_SOURCES = tests/progs/mergefs_fuzz.c
tests_progs_mergefs_promcheck_SOURCES = tests/progs/mergefs_promcheck.c
tests_progs_mergefs_target_SOURCES = tests/progs/mergefs_target.c \
	tests/progs/mergefs_fake.c tests/progs/mergefs_fake.h \
	preload/control.c preload/control.h preload/engine.h
tests_progs_mergefs_target_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/preload -I$(top_srcdir)/tests -I$(top_srcdir)/tests/progs
tests_progs_mergefs_target_LDADD = $(DL_LIBS) $(PTHREAD_LIBS)

# ----------------------------------------------- security, stress, safety
check_PROGRAMS += tests/progs/security_ctl tests/progs/stress_nothing_lost \
	tests/progs/stress_load tests/progs/safety_load \
	tests/progs/safety_reuse tests/progs/safety_corrupt
noinst_HEADERS += tests/progs/safety_util.h
tests_progs_security_ctl_SOURCES = tests/progs/security_ctl.c
tests_progs_stress_nothing_lost_SOURCES = tests/progs/stress_nothing_lost.c
tests_progs_stress_nothing_lost_LDADD = $(PTHREAD_LIBS)
tests_progs_stress_load_SOURCES = tests/progs/stress_load.c
tests_progs_stress_load_LDADD = $(PTHREAD_LIBS)
tests_progs_safety_load_SOURCES = tests/progs/safety_load.c
tests_progs_safety_load_LDADD = $(PTHREAD_LIBS)
tests_progs_safety_reuse_SOURCES = tests/progs/safety_reuse.c
tests_progs_safety_reuse_LDADD = $(PTHREAD_LIBS)
tests_progs_safety_corrupt_SOURCES = tests/progs/safety_corrupt.c \
	tests/progs/mergefs_fake.c tests/progs/mergefs_fake.h \
	preload/control.c preload/control.h preload/engine.h
tests_progs_safety_corrupt_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/preload \
	-I$(top_srcdir)/tests -I$(top_srcdir)/tests/progs
tests_progs_safety_corrupt_LDADD = $(DL_LIBS) $(PTHREAD_LIBS)
