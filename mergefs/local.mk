# mergefs: the FUSE daemon (its tests are registered by
# tests/mergefs/local.mk, its benchmark by bench/local.mk).
sbin_PROGRAMS += mergefs/mergefs
mergefs_mergefs_SOURCES = mergefs/mergefs.c mergefs/main.c mergefs/mergefs.h \
	mergefs/files.c mergefs/proc.c mergefs/target.c mergefs/sender.c \
	mergefs/render.c mergefs/auto.c mergefs/auto_plan.c mergefs/auto_survey.c mergefs/auto.h \
	mergefs/limits.c \
	mergefs/metrics.c mergefs/unmerge.c \
	mergefs/attach.c cli/attach/record.c
mergefs_mergefs_CFLAGS = $(AM_CFLAGS) $(FUSE3_CFLAGS)
mergefs_mergefs_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/util \
	-I$(top_srcdir)/cli/attach -DKSMP_BINDIR='"$(bindir)"'
mergefs_mergefs_LDADD = util/libksmputil.a policy/libksmppolicy.a \
	$(FUSE3_LIBS) $(PTHREAD_LIBS)

dist_man_MANS += man/mergefs.8

