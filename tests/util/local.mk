# tests/util: libksmputil's shared helpers (small-file reader, UTF-8
# checks and escapes, array growth) that the command and mergefs both use.
check_PROGRAMS += tests/util/util_text
TESTS += tests/util/util_text
tests_util_util_text_SOURCES = tests/util/util_text.c
tests_util_util_text_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/util \
	-I$(top_srcdir)/tests
tests_util_util_text_LDADD = util/libksmputil.a

check_PROGRAMS += tests/util/util_grow
TESTS += tests/util/util_grow
tests_util_util_grow_SOURCES = tests/util/util_grow.c
tests_util_util_grow_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/util \
	-I$(top_srcdir)/tests
tests_util_util_grow_LDFLAGS = -Wl,--wrap=realloc
tests_util_util_grow_LDADD = util/libksmputil.a
