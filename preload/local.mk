# preload: libksmpreload.so and the ksmpreload command.
bin_PROGRAMS += preload/ksmpreload
preload_ksmpreload_SOURCES = preload/ksmpreload.c preload/cmd.h \
	preload/cmd_check.c preload/cmd_run.c preload/cmd_estimate.c \
	preload/cmd_profile.c
preload_ksmpreload_LDADD = policy/libksmppolicy.a $(ELF_LIBS)

# The preloaded library. Built as a "program" linked with -shared so that
# it is a plain file in the build tree. Only the interposed functions are
# exported (default visibility on them, -fvisibility=hidden for the rest);
# -z nodelete because interposers and atfork handlers must outlive any
# dlclose of a program that dlopens us.
ksmplib_PROGRAMS += preload/libksmpreload.so
preload_libksmpreload_so_SOURCES = preload/lib.h \
	preload/symbols.c preload/log.c preload/state.c preload/regions.c \
	preload/caller.c preload/engine.c preload/malloc.c preload/mmap.c \
	preload/thread.c preload/wait.c preload/init.c \
	preload/engine.h preload/control.h preload/control.c
preload_libksmpreload_so_CFLAGS = $(AM_CFLAGS) -fPIC $(KSMP_VIS_CFLAGS) \
	-ftls-model=initial-exec -fno-builtin-malloc -fno-builtin-free \
	-fno-builtin-calloc -fno-builtin-realloc
preload_libksmpreload_so_LDFLAGS = $(AM_LDFLAGS) -shared -fPIC \
	-Wl,-z,nodelete -Wl,--exclude-libs,ALL
preload_libksmpreload_so_LDADD = policy/libksmppolicy.a $(DL_LIBS) \
	$(PTHREAD_LIBS)

dist_man_MANS += man/libksmpreload.7

# The library's exported symbols: interposers only.
TESTS += preload/exports.sh
EXTRA_DIST += preload/exports.sh


# The control signal never ends the program's own pause()/sigsuspend().
TESTS += tests/control_pause.sh
EXTRA_DIST += tests/control_pause.sh

# The state block's size is sealed.
TESTS += tests/state_seal.sh
EXTRA_DIST += tests/state_seal.sh
