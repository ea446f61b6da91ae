# systemd: units and ksmd's settings file, with the configured paths
# substituted (--with-systemdsystemunitdir=DIR; =no installs no unit).
# ksm.conf is installed only where none exists: an admin's edits stay.
ksmpconfdir = $(sysconfdir)/ksmpreload
KSMP_UNITS = systemd/mergefs.service systemd/ksmpreload-ksm.service \
	systemd/ksmpreload-attach.service
EXTRA_DIST += systemd/mergefs.service.in systemd/ksmpreload-ksm.service.in \
	systemd/ksmpreload-attach.service.in \
	systemd/ksm.conf
CLEANFILES += $(KSMP_UNITS)
if HAVE_SYSTEMD_UNITS
systemdsystemunit_DATA = $(KSMP_UNITS)
else
noinst_DATA += $(KSMP_UNITS)
endif
systemd/mergefs.service: $(srcdir)/systemd/mergefs.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && $(ksmp_edit) $(srcdir)/systemd/mergefs.service.in > $@.tmp && mv $@.tmp $@
systemd/ksmpreload-ksm.service: $(srcdir)/systemd/ksmpreload-ksm.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && $(ksmp_edit) $(srcdir)/systemd/ksmpreload-ksm.service.in > $@.tmp && mv $@.tmp $@

systemd/ksmpreload-attach.service: $(srcdir)/systemd/ksmpreload-attach.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && $(ksmp_edit) $(srcdir)/systemd/ksmpreload-attach.service.in > $@.tmp && mv $@.tmp $@

install-data-local: install-ksmconf
uninstall-local: uninstall-ksmconf
.PHONY: install-ksmconf uninstall-ksmconf
install-ksmconf:
	$(MKDIR_P) '$(DESTDIR)$(ksmpconfdir)' '$(DESTDIR)$(policydir)'
	test -e '$(DESTDIR)$(ksmpconfdir)/ksm.conf' || \
		$(INSTALL_DATA) $(srcdir)/systemd/ksm.conf '$(DESTDIR)$(ksmpconfdir)/ksm.conf'
uninstall-ksmconf:
	if cmp -s $(srcdir)/systemd/ksm.conf '$(DESTDIR)$(ksmpconfdir)/ksm.conf'; then \
		rm -f '$(DESTDIR)$(ksmpconfdir)/ksm.conf'; fi
	-rmdir '$(DESTDIR)$(policydir)' '$(DESTDIR)$(ksmpconfdir)' 2>/dev/null
