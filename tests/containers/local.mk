# tests/containers: programs under the library in containers made with
# unshare(1) as container engines make them (issue 12, item 7): control
# across user namespaces, the per-cgroup view, the recipes of
# libksmpreload(7) CONTAINERS.
CONTAINERS_TESTS = tests/containers/containers_control.sh \
	tests/containers/containers_cgroups.sh tests/containers/containers_recipes.sh
TESTS += $(CONTAINERS_TESTS)
EXTRA_DIST += $(CONTAINERS_TESTS) tests/containers/ctr_common.sh
