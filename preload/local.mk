# preload: libksmpreload.so, built only from preload/, policy/ and include/.

# The preloaded library. Built as a "program" linked with -shared so that
# it is a plain file in the build tree. Only the interposed functions are
# exported (default visibility on them, -fvisibility=hidden for the rest);
# -z nodelete because interposers and atfork handlers must outlive any
# dlclose of a program that dlopens us.
ksmplib_PROGRAMS += preload/libksmpreload.so
preload_libksmpreload_so_SOURCES = preload/lib.h \
	preload/symbols.c preload/log.c preload/state.c preload/regions.c \
	preload/apart.c preload/caller.c preload/data.c preload/crypto.c preload/heap.c preload/engine.c preload/malloc.c preload/mmap.c \
	preload/early.c \
	preload/thread.c preload/wait.c preload/write.c preload/init.c \
	preload/engine.h preload/control.h preload/control.c \
	preload/builtin_image.h
if BUILTIN_IMAGE
nodist_preload_libksmpreload_so_SOURCES = preload/builtin_image.c
else
preload_libksmpreload_so_SOURCES += preload/builtin_none.c
endif
# builtin_image.c, made in the build tree, includes builtin_image.h
preload_libksmpreload_so_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/preload
preload_libksmpreload_so_CFLAGS = $(AM_CFLAGS) -fPIC $(KSMP_VIS_CFLAGS) \
	-ftls-model=initial-exec -fno-builtin-malloc -fno-builtin-free \
	-fno-builtin-calloc -fno-builtin-realloc
preload_libksmpreload_so_LDFLAGS = $(AM_LDFLAGS) -shared -fPIC \
	-Wl,-z,nodelete -Wl,--exclude-libs,ALL
preload_libksmpreload_so_LDADD = policy/libksmppolicy.a $(DL_LIBS) \
	$(PTHREAD_LIBS)
if KSMP_ATFORK_COMPAT
# glibc's compat pthread_atfork, defined under its version (init.c)
preload_libksmpreload_so_LDFLAGS += \
	-Wl,--version-script=$(top_builddir)/preload/atfork.map
EXTRA_preload_libksmpreload_so_DEPENDENCIES = preload/atfork.map
endif
EXTRA_DIST += preload/atfork.map.in

dist_man_MANS += man/libksmpreload.7

# The built-in default policy parsed and formatted at build time
# (preload/gen_builtin.c, run on the build machine): the library uses
# them as they are instead of doing either (issue 13, exec cost). Not when
# cross-compiling (configure): gen_builtin, built for the host, cannot run
# here, and the library parses at start (preload/builtin_none.c).
if BUILTIN_IMAGE
noinst_PROGRAMS += preload/gen_builtin
preload_gen_builtin_SOURCES = preload/gen_builtin.c
preload_gen_builtin_LDADD = policy/libksmppolicy.a
# (no leak check in a sanitizer build: LeakSanitizer stops the world
# with ptrace, which a build under a tracer or a ptrace-less sandbox
# lacks, and the tool exits at once anyway)
preload/builtin_image.c: preload/gen_builtin$(EXEEXT)
	$(AM_V_GEN)ASAN_OPTIONS=detect_leaks=0 preload/gen_builtin$(EXEEXT) > $@.tmp && mv $@.tmp $@
CLEANFILES += preload/builtin_image.c preload/builtin_image.c.tmp
endif
