# preload: libksmpreload.so and the ksmpreload command.
bin_PROGRAMS += preload/ksmpreload
preload_ksmpreload_SOURCES = preload/ksmpreload.c preload/cmd.h \
	preload/cmd_check.c preload/cmd_run.c preload/cmd_estimate.c
preload_ksmpreload_LDADD = policy/libksmppolicy.a
