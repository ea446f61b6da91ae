# bench/real: `make bench-real` (issue 13), real programs under four
# variants side by side; see bench/real/README. Included from Makefile.am.
check_PROGRAMS += bench/real/ksmp-pagestat bench/real/ksmp-plateau \
	bench/real/ksmp-prctl-exec
bench_real_ksmp_pagestat_SOURCES = bench/real/ksmp-pagestat.c
bench_real_ksmp_plateau_SOURCES = bench/real/ksmp-plateau.c
bench_real_ksmp_plateau_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/util
bench_real_ksmp_plateau_LDADD = util/libksmputil.a
bench_real_ksmp_prctl_exec_SOURCES = bench/real/ksmp-prctl-exec.c
BENCH_REAL_FILES = bench/real/run.sh bench/real/report.py bench/real/README \
	bench/real/apps/gendata.py bench/real/apps/app.py bench/real/apps/app.js \
	bench/real/apps/app.php bench/real/apps/app.rb bench/real/apps/app.pl \
	bench/real/apps/App.java bench/real/apps/sqlite.sql bench/real/apps/mcload.py
EXTRA_DIST += $(BENCH_REAL_FILES)

.PHONY: bench-real
# BENCH_PROGRAMS=python,node and BENCH_QUICK=1 select a subset / a short run.
bench-real: all tests/ksm-hold bench/real/ksmp-pagestat bench/real/ksmp-plateau \
		bench/real/ksmp-prctl-exec
	KSMP_SRCDIR='$(abs_top_srcdir)' KSMP_BUILDDIR='$(abs_top_builddir)' \
		$(SHELL) '$(abs_top_srcdir)/bench/real/run.sh'
