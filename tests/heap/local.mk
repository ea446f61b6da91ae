# tests/heap: the crypto heap (issue 13). A shared object named like a
# crypto library (its malloc calls must be served apart) and a driver.
check_PROGRAMS += tests/heap/heap-check tests/heap/libcrypto.so.ksmptest \
	tests/heap/libksmpplain.so.ksmptest
tests_heap_heap_check_SOURCES = tests/heap/heap-check.c
tests_heap_heap_check_LDADD = -ldl -lpthread
# Built like the library itself: a "program" linked with -shared. No tail
# calls, so that the return address of each malloc call is in it.
tests_heap_libcrypto_so_ksmptest_SOURCES = tests/heap/fakecrypto.c
tests_heap_libcrypto_so_ksmptest_CFLAGS = $(AM_CFLAGS) -fPIC \
	-fno-optimize-sibling-calls -fno-builtin
tests_heap_libcrypto_so_ksmptest_LDFLAGS = $(AM_LDFLAGS) -shared -fPIC
# The same object under a name no rule knows (heap-check forkstale).
tests_heap_libksmpplain_so_ksmptest_SOURCES = $(tests_heap_libcrypto_so_ksmptest_SOURCES)
tests_heap_libksmpplain_so_ksmptest_CFLAGS = $(tests_heap_libcrypto_so_ksmptest_CFLAGS)
tests_heap_libksmpplain_so_ksmptest_LDFLAGS = $(tests_heap_libcrypto_so_ksmptest_LDFLAGS)
HEAP_TESTS = tests/heap/heap_api.sh tests/heap/heap_stress.sh \
	tests/heap/heap_atfork.sh tests/heap/heap_command.sh \
	tests/heap/heap_python.sh \
	tests/heap/heap_ksm.sh
TESTS += $(HEAP_TESTS)
EXTRA_DIST += $(HEAP_TESTS) tests/heap/heap_common.sh tests/heap/crypto_heap.py
# preload/heap.c linked into a test program of its own (not preloaded),
# so that the sanitizer build checks the crypto heap's code as well.
check_PROGRAMS += tests/heap/heap_unit
TESTS += tests/heap/heap_unit
tests_heap_heap_unit_SOURCES = tests/heap/heap_unit.c preload/heap.c
tests_heap_heap_unit_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/preload \
	-I$(top_srcdir)/tests
tests_heap_heap_unit_LDADD = -lpthread
