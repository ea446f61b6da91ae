# ksmpreload attach / detach (issue 11): ptrace system-call injection,
# linked into the ksmpreload command. x86_64 only: elsewhere the command
# is built with a stub that refuses cleanly (cli/attach/none.c).
if KSMP_ATTACH
cli_ksmpreload_SOURCES += cli/attach/cmd_attach.c cli/attach/attach.h \
	cli/attach/inject.c cli/attach/inject.h cli/attach/bpf.c \
	cli/attach/proc.c cli/attach/ident.c cli/attach/ranges.c cli/attach/record.c \
	cli/attach/watch.c
else
cli_ksmpreload_SOURCES += cli/attach/none.c
endif
EXTRA_DIST += cli/attach/none.c
cli_ksmpreload_CPPFLAGS += -I$(top_srcdir)/cli -I$(top_srcdir)/cli/attach

# `make bench`: stop time per attach (process mode; regions by ranges).
BENCHES += bench/attach_bench.sh
EXTRA_DIST += bench/attach_bench.sh
