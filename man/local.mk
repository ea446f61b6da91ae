# man: pages are listed by their components (dist_man_MANS); this holds
# the lint test that checks all of them.
TESTS += man/lint.sh
EXTRA_DIST += man/lint.sh
