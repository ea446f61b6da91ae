# cli: the ksmpreload command (one file per subcommand). It links the
# policy library and libelf, never libksmpreload.so's own code.
bin_PROGRAMS += cli/ksmpreload
cli_ksmpreload_SOURCES = cli/ksmpreload.c cli/cmd.h \
	cli/cmd_check.c cli/cmd_index.c cli/cmd_run.c cli/cmd_ksm.c cli/procsel.c \
	cli/estimate/estimate.h cli/estimate/main.c cli/estimate/target.c \
	cli/estimate/maps.c cli/estimate/scan.c cli/estimate/hash.c \
	cli/estimate/count.c cli/estimate/report.c \
	cli/profile/profile.h cli/profile/main.c cli/profile/instances.c \
	cli/profile/maps.c cli/profile/symbols.c cli/profile/join.c \
	cli/profile/origins.c cli/profile/report.c cli/profile/suggest.c
cli_ksmpreload_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/cli \
	-I$(top_srcdir)/util \
	-DKSMP_KSMCONF='"$(sysconfdir)/ksmpreload/ksm.conf"' \
	-DKSMP_BUILD_CLIDIR='"$(abs_top_builddir)/cli"' \
	-DKSMP_SRC_POLICYDIR='"$(abs_top_srcdir)/policy"'
cli_ksmpreload_LDADD = util/libksmputil.a policy/libksmppolicy.a $(ELF_LIBS)
if HAVE_LIBDW
cli_ksmpreload_SOURCES += cli/profile/dwarf.c
cli_ksmpreload_CPPFLAGS += $(DW_CFLAGS)
cli_ksmpreload_LDADD += $(DW_LIBS)
endif
EXTRA_DIST += cli/profile/dwarf.c

# `make bench`: estimate ~4 GiB held by 4 processes, print the time;
# profile a Python program.
BENCHES += bench/estimate_bench bench/profile_python.sh
EXTRA_DIST += bench/estimate_bench.sh bench/profile_python.sh
CLEANFILES += bench/estimate_bench
bench/estimate_bench: $(srcdir)/bench/estimate_bench.sh tests/progs/estimate_hold
	$(AM_V_GEN)$(MKDIR_P) bench && cp $(srcdir)/bench/estimate_bench.sh $@ && chmod +x $@
