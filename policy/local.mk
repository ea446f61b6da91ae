# policy: the policy language library (parser, selection, matcher) and the
# shipped policies.
noinst_LIBRARIES += policy/libksmppolicy.a
policy_libksmppolicy_a_SOURCES = policy/policy.h policy/policy-int.h policy/sys.h \
	policy/policy.c policy/rule.c policy/names.c policy/builtin.c policy/glob.c \
	policy/match.c policy/format.c policy/select.c policy/index.c
# Linked into libksmpreload.so, so position-independent.
policy_libksmppolicy_a_CFLAGS = $(AM_CFLAGS) -fPIC $(KSMP_VIS_CFLAGS)

# --------------------------------------------------------------- fuzzing
EXTRA_DIST += policy/fuzz-corpus policy/fuzz-policy.dict

# `make fuzz`: coverage-guided libFuzzer run with ASan+UBSan for
# FUZZ_SECONDS. New inputs go to policy/fuzz-work in the build tree; the
# seed corpus in the source tree is only read.
FUZZ_SECONDS = 30
FUZZ_SRCS = $(top_srcdir)/policy/fuzz_policy.c $(top_srcdir)/policy/policy.c \
	$(top_srcdir)/policy/names.c $(top_srcdir)/policy/rule.c \
	$(top_srcdir)/policy/builtin.c \
	$(top_srcdir)/policy/glob.c $(top_srcdir)/policy/match.c \
	$(top_srcdir)/policy/format.c $(top_srcdir)/policy/select.c \
	$(top_srcdir)/policy/index.c
FUZZ_CFLAGS = -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -fno-omit-frame-pointer
.PHONY: fuzz
fuzz:
	@if test -z "$(CLANG)"; then \
		echo "fuzz: SKIP: clang not found (install clang)"; exit 0; fi; \
	if ! printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' | \
		$(CLANG) -x c -fsanitize=fuzzer - -o policy/fuzz-probe >/dev/null 2>&1; then \
		rm -f policy/fuzz-probe; \
		echo "fuzz: SKIP: clang cannot build with -fsanitize=fuzzer (libFuzzer missing)"; \
		exit 0; fi; \
	rm -f policy/fuzz-probe; \
	echo "  CLANG    policy/fuzz_policy"; \
	$(CLANG) $(DEFS) $(DEFAULT_INCLUDES) $(AM_CPPFLAGS) $(FUZZ_CFLAGS) \
		$(FUZZ_SRCS) -o policy/fuzz_policy || exit 1; \
	mkdir -p policy/fuzz-work; \
	echo "fuzz: running for $(FUZZ_SECONDS) s"; \
	ASAN_OPTIONS=detect_leaks=1 ./policy/fuzz_policy \
		-max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
		-dict=$(top_srcdir)/policy/fuzz-policy.dict \
		-artifact_prefix=policy/fuzz- \
		policy/fuzz-work $(top_srcdir)/policy/fuzz-corpus \
		>policy/fuzz.log 2>&1; rc=$$?; \
	runs=`sed -n 's/^stat::number_of_executed_units: *//p' policy/fuzz.log`; \
	if test $$rc -ne 0; then tail -n 40 policy/fuzz.log; \
		echo "fuzz: FAIL after $${runs:-?} executions (exit $$rc; see policy/fuzz.log)"; \
		exit 1; fi; \
	echo "fuzz: $${runs:-?} executions in $(FUZZ_SECONDS) s, no crash (corpus: policy/fuzz-work)"
CLEANFILES += policy/fuzz_policy policy/fuzz.log policy/fuzz-probe
clean-local: policy-fuzz-clean
.PHONY: policy-fuzz-clean
policy-fuzz-clean:
	rm -rf policy/fuzz-work

# ------------------------------------------------ shipped policies, man pages
dist_vendorpolicy_DATA += policy/default.policy
# The installed vendor directory's index (ksmpreload.policy(5), Index),
# written by the command just built; not in a staged install (DESTDIR),
# whose directory is not the one programs will read: a package runs
# `ksmpreload index` after installing.
install-data-hook: install-policy-index
.PHONY: install-policy-index
install-policy-index:
	@if test -z '$(DESTDIR)'; then \
		cli/ksmpreload$(EXEEXT) index '$(vendorpolicydir)' || \
		echo "warning: no index of $(vendorpolicydir): programs will list it at start"; fi
dist_man_MANS += man/ksmpreload.policy.5 man/ksmpreload.1
