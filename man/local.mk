# man: pages are listed by their components (dist_man_MANS); this holds
# the lint test that checks all of them.
TESTS += man/lint.sh
EXTRA_DIST += man/lint.sh

# Installed pages name the configured paths ($sysconfdir, $pkglibdir, ...
# in the source) and the docs install next to them.
ksmp_edit_man = $(SED) -e 's|\$$sysconfdir|$(sysconfdir)|g' \
	-e 's|\$$pkglibdir|$(pkglibdir)|g' -e 's|\$$vendorpolicydir|$(vendorpolicydir)|g' \
	-e 's|\$$systemdsystemunitdir|$(systemdsystemunitdir)|g' -e 's|\$$docdir|$(docdir)|g' \
	-e 's|\$$bindir|$(bindir)|g'
dist_doc_DATA = README.md SECURITY.md mergefs/fstab.example
install-data-hook: install-man-paths
.PHONY: install-man-paths
install-man-paths:
	@for f in $(dist_man_MANS); do \
		b=`basename $$f`; s=`echo $$b | $(SED) 's/.*\.//'`; \
		p='$(DESTDIR)$(mandir)'/man$$s/$$b; \
		$(ksmp_edit_man) "$$p" > "$$p.tmp" && mv "$$p.tmp" "$$p" || exit 1; \
	done
