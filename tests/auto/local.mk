# tests/auto: mode auto (the library's side and mergefs's controller) end
# to end with real KSM.
check_PROGRAMS += tests/auto/auto-prog
tests_auto_auto_prog_SOURCES = tests/auto/auto-prog.c
TESTS += tests/auto/auto_prune.sh tests/auto/auto_quick.sh tests/auto/auto_backoff.sh \
	tests/auto/auto_stopped.sh tests/auto/auto_hostile.sh tests/auto/auto_batch.sh tests/auto/auto_readvise.sh \
	tests/auto/auto_enospc.sh tests/auto/auto_unresponsive.sh tests/auto/auto_restart.sh tests/auto/auto_refill.sh
EXTRA_DIST += tests/auto/auto_prune.sh tests/auto/auto_quick.sh tests/auto/auto_backoff.sh tests/auto/auto_stopped.sh tests/auto/auto_hostile.sh tests/auto/auto_batch.sh tests/auto/auto_readvise.sh \
	tests/auto/auto_enospc.sh tests/auto/auto_unresponsive.sh tests/auto/auto_restart.sh tests/auto/auto_refill.sh tests/auto/auto_common.sh
check_PROGRAMS += tests/auto/auto_policy
TESTS += tests/auto/auto_policy
tests_auto_auto_policy_SOURCES = tests/auto/auto_policy.c
tests_auto_auto_policy_LDADD = policy/libksmppolicy.a
check_PROGRAMS += tests/auto/auto_plan_unit
TESTS += tests/auto/auto_plan_unit
tests_auto_auto_plan_unit_SOURCES = tests/auto/auto_plan_unit.c mergefs/auto_plan.c
check_PROGRAMS += tests/auto/auto_survey_unit
TESTS += tests/auto/auto_survey_unit
tests_auto_auto_survey_unit_SOURCES = tests/auto/auto_survey_unit.c mergefs/auto_survey.c
tests_auto_auto_survey_unit_LDADD = util/libksmputil.a
tests_auto_auto_survey_unit_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/util
