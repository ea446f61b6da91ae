#!/bin/sh
# Issue 12 item 6: `make install DESTDIR=` installs the units (clean under
# systemd-analyze verify), ksm.conf (kept when it exists), the docs and
# fstab example, default.policy in the vendor directory and an
# empty admin policy directory; installed man pages name the configured
# paths. The admin directory overrides the vendor one file by file, and
# `ksmpreload check` reports overridden, masked and shadowed files.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
[ -f "$KSMP_BUILDDIR/Makefile" ] || skip_all "no build tree"
T=$(mktemp -d /tmp/ksmp-hosts-inst.XXXXXX)
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
D=$T/dest
eval "$(make -s --no-print-directory -C "$KSMP_BUILDDIR" hosts-print-dirs | grep "^[a-z]*='")"
# shellcheck disable=SC2154
d() { echo "$D$1"; }

plan 27
make -s --no-print-directory -C "$KSMP_BUILDDIR" install DESTDIR="$D" > "$T/log" 2>&1; rc=$?
[ $rc -eq 0 ] || sed 's/^/# /' "$T/log" | tail -20
is "$rc" 0 "make install DESTDIR= succeeds"
for f in "$bindir/ksmpreload" "$sbindir/mergefs" "$pkglibdir/libksmpreload.so" \
	"$systemdsystemunitdir/mergefs.service" "$systemdsystemunitdir/ksmpreload-ksm.service" \
	"$sysconfdir/ksmpreload/ksm.conf" "$docdir/README.md" "$docdir/SECURITY.md" \
	"$docdir/fstab.example" "$vendorpolicydir/default.policy"; do
	ok "installed: $f" [ -f "$(d "$f")" ]
done
ok "the admin policy directory exists and is empty" \
	sh -c "[ -d '$(d "$policydir")' ] && [ -z \"\$(ls -A '$(d "$policydir")')\" ]"

# units: paths substituted, systemd-analyze verify clean (with the
# DESTDIR prefix put in front of the installed paths)
ok "units name the installed binaries" grep -q "^ExecStart=$sbindir/mergefs " "$(d "$systemdsystemunitdir/mergefs.service")"
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir "$T/units"
	for u in mergefs.service ksmpreload-ksm.service ksmpreload-attach.service; do
		sed "s|$prefix/|$D$prefix/|g" "$(d "$systemdsystemunitdir/$u")" > "$T/units/$u"
	done
	out=$(MANPATH=$(d "$mandir") SYSTEMD_LOG_LEVEL=notice systemd-analyze verify "$T/units/mergefs.service" \
		"$T/units/ksmpreload-ksm.service" "$T/units/ksmpreload-attach.service" 2>&1); rc=$?
	[ -z "$out" ] || echo "$out" | sed 's/^/# /'
	is "$rc.$out" "0." "systemd-analyze verify: the units are clean"
else
	skip_env 1 "systemd-analyze not installed (Debian package systemd)"
fi

# man pages: no placeholders left, the configured paths instead
mp=$(d "$mandir")
is "$(grep -l '\$[a-z]*dir' "$mp"/man*/* 2>/dev/null)" "" "installed man pages: no literal \$sysconfdir/\$pkglibdir/..."
ok "libksmpreload(7) names \$pkglibdir as configured" grep -q "Pa $pkglibdir/libksmpreload.so" "$mp/man7/libksmpreload.7"
is "$(grep -c '/usr/lib/ksmpreload' "$mp/man7/libksmpreload.7")" 0 "libksmpreload(7) does not hard-code /usr/lib"
if command -v mandoc >/dev/null 2>&1; then
	is "$(mandoc -Tlint -W warning "$mp"/man*/* 2>&1)" "" "installed man pages: mandoc -Tlint clean"
else
	skip_env 1 "mandoc not installed"
fi

# ksm.conf is the admin's once installed
echo "pages_to_scan=77" >> "$(d "$sysconfdir/ksmpreload/ksm.conf")"
make -s --no-print-directory -C "$KSMP_BUILDDIR" install DESTDIR="$D" > "$T/log" 2>&1
ok "a second install keeps an edited ksm.conf" grep -q '^pages_to_scan=77' "$(d "$sysconfdir/ksmpreload/ksm.conf")"

# vendor directory overridden file by file by the admin directory
K=$(d "$bindir/ksmpreload")
A=$(d "$policydir"); V=$(d "$vendorpolicydir")
ok "the vendor directory holds default.policy alone" test "$(ls "$V")" = default.policy
# vendor files as a package of per-program policies would install them
for f in python:python3* redis:redis-server node:node; do
	printf 'name %s\nprogram %s\nmode auto\n' "${f%%:*}" "${f#*:}" > "$V/${f%%:*}.policy"
done
printf 'name mine\nprogram python3*\nmode process\n' > "$A/python.policy"
ln -s /dev/null "$A/redis.policy"
: > "$A/node.policy"
printf 'program python3*\nmode off\n' > "$A/workers.policy"
KSMP_LIBRARY=$(d "$pkglibdir/libksmpreload.so") "$K" check -p /usr/bin/python3.11 -d "$A" -D "$V" > "$T/py" 2>&1
ok "same name in the admin directory wins" grep -q "chosen *$A/python.policy" "$T/py"
ok "check reports the override" grep -q "overridden $V/python.policy by $A/python.policy" "$T/py"
ok "check reports a symlink to /dev/null as masking" grep -q "masked *$V/redis.policy" "$T/py"
ok "check reports an empty file as masking" grep -q "masked *$V/node.policy" "$T/py"
ok "check reports a later matching file as shadowed" grep -q "shadowed *$A/workers.policy" "$T/py"
"$K" check -p /usr/bin/redis-server -d "$A" -D "$V" > "$T/redis" 2>&1
ok "a masked vendor policy is not chosen" grep -q "chosen *the built-in default" "$T/redis"
# -p NAME: "masked" said, not "missing"
rm -f "$A/python.policy"
"$K" check -p /usr/bin/python3.11 -d "$A" -D "$V" > "$T/py2" 2>&1
ok "without the override the vendor file is chosen" grep -q "chosen *$V/python.policy" "$T/py2"
done_testing
