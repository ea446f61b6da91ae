# util: helpers shared by the ksmpreload command and mergefs (whole-file
# reads, JSON strings, sizes). Never linked into libksmpreload.so.
noinst_LIBRARIES += util/libksmputil.a
util_libksmputil_a_SOURCES = util/ksmp_util.h util/util.c util/ksm_knobs.c util/headroom.c
