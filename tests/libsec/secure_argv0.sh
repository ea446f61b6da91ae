#!/bin/sh
# secure_argv0 - a privileged program's policy is not its invoker's to
# choose (issue 10, item 2; SECURITY.md section 1).
#
# The library is installed the way that covers set-user-ID programs too,
# in /etc/ld.so.preload, and two policies are put in the compiled-in policy
# directory: "via-argv0" (program python3) and "via-exe" (program
# ksmp-secprog). uid 65534 then runs copies of a test program with
# `exec -a python3`:
#  - set-user-ID root, set-group-ID root, or with a file capability: the
#    built-in default of secure execution, default-secure (mode regions,
#    never the heap or arenas; argv[0] ignored), and KSMP_POLICY is ignored
#    too;
#  - set-user-ID root but named ksmp-secprog: via-exe (the executable
#    still selects, and the file says "secure-exec yes");
#  - set-user-ID root named ksmp-secnox, whose file (mode auto, heap)
#    does not say "secure-exec yes": default-secure, not that file;
#  - an ordinary copy, and root running the set-user-ID copy (no change of
#    credentials): via-argv0, as before;
#  - once via-exe's file is 0666, the set-user-ID program refuses it
#    (item 10; tests/libsec/policy_trust.sh has the other cases).
# Everything (a tmpfs for the programs, overlays on /etc and the policy
# directory's parent) lives in a private mount namespace, so nothing is
# visible outside the test and nothing remains after it, even if killed.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
need_root
for c in unshare setpriv bash; do
	command -v $c >/dev/null 2>&1 || skip_all_env "$c not installed"
done
[ -f "$(ksmp_lib)" ] || skip_all "libksmpreload.so not built"
B=$KSMP_BUILDDIR
H=$B/tests/progs/security_ctl
P=$B/tests/progs/ksmp-probe
K=$B/cli/ksmpreload
[ -x "$K" ] || K=$B/preload/ksmpreload
unset KSMP_POLICY KSMP_POLICY_DIR

if [ -z "${KSMP_SECURE_NS:-}" ]; then
	unshare --mount true 2>/dev/null || skip_all_env "cannot create a mount namespace"
	KSMP_SECURE_NS=1 exec unshare --mount --propagation private \
		"$SHELL_FOR_TEST" "$0" "$@"
fi

# the compiled-in (admin) policy directory, as ksmpreload check --help says
PD=$("$K" check --help 2>/dev/null | sed -n 's/^ *\$KSMP_POLICY_DIR, else \([^ ]*\).*/\1/p')
[ -n "$PD" ] || skip_all "cannot learn the compiled-in policy directory from ksmpreload check --help"

. "$KSMP_SRCDIR/tests/libsec/common.sh"
ls_scratch secure
mount -t tmpfs -o mode=755 ksmp-secure "$T" || skip_all_env "cannot mount a tmpfs"

overlay() { # DIR: DIR's contents plus a writable layer, in this namespace only
	o=$T/ov$(echo "$1" | tr / _)
	mkdir -p "$o/up" "$o/work"
	mount -t overlay ksmp-secure -o "lowerdir=$1,upperdir=$o/up,workdir=$o/work" "$1"
}
overlay /etc || skip_all_env "cannot mount an overlay on /etc"
a=$PD
while [ ! -d "$a" ]; do a=$(dirname "$a"); done
case $a in
/) skip_all "no directory of $PD exists" ;;
/etc | /etc/*) ;;
*) overlay "$a" || skip_all_env "cannot mount an overlay on $a" ;;
esac
mkdir -p "$PD" && mount -t tmpfs -o mode=755 ksmp-secure-policy "$PD" ||
	skip_all_env "cannot make $PD"
printf 'name via-argv0\nprogram python3\nmerge mmap min=1M\n' > "$PD/10-argv0.policy"
printf 'name via-exe\nprogram ksmp-secprog\nsecure-exec yes\nmerge mmap min=1M\n' > "$PD/20-exe.policy"
printf 'name via-exe-plain\nprogram ksmp-secnox\nmode auto\nmerge heap,arena\n' > "$PD/05-nox.policy"
printf 'name via-env\nmode process\n' > "$T/env.policy"
chmod 644 "$PD"/*.policy "$T/env.policy"

mkdir "$T/bin"
for n in suid ksmp-secprog ksmp-secnox sgid plain fcap; do cp "$H" "$T/bin/$n"; done
chown 0:0 "$T/bin"/*
chmod 4755 "$T/bin/suid" "$T/bin/ksmp-secprog" "$T/bin/ksmp-secnox"
chmod 2755 "$T/bin/sgid"
chmod 755 "$T/bin/plain" "$T/bin/fcap"
fcap=no
command -v setcap >/dev/null 2>&1 &&
	setcap cap_net_bind_service+ep "$T/bin/fcap" 2>/dev/null && fcap=yes

# From here on every program of this namespace loads the library.
if sanitized; then
	printf '%s\n%s\n' "$KSMP_ASAN_RUNTIME" "$(ksmp_lib)" > /etc/ld.so.preload
else
	printf '%s\n' "$(ksmp_lib)" > /etc/ld.so.preload
fi

policy_of() { # UID PROGRAM [ENV...]: run PROGRAM as uid with argv[0] python3,
	# print the name of the policy its library chose. Runs in a command
	# substitution: it kills what it started itself (the program's pid is
	# $!: setpriv, env and bash exec it).
	u=$1 prog=$2
	shift 2
	out=$(mktemp "$T/out.XXXXXX")
	if [ "$u" = 0 ]; then
		env "$@" bash -c 'exec -a python3 "$0" hold 1 7' "$prog" > "$out" 2>&1 &
	else
		setpriv --reuid "$u" --regid "$u" --clear-groups \
			env "$@" bash -c 'exec -a python3 "$0" hold 1 7' "$prog" > "$out" 2>&1 &
	fi
	started=$!
	ls_ready "$out"
	pid=$(awk '/^ready/ { print $2 }' "$out")
	if [ -z "$pid" ]; then
		kill -9 "$started" 2>/dev/null
		echo "(did not start: $(head -c 200 "$out"))"
		return
	fi
	name=$("$P" state "$pid" | sed -n 's/.* policy \([^ ]*\) .*/\1/p')
	kill -9 "$pid" "$started" 2>/dev/null
	if grep -q 'refused in a privileged process: writable by group or others' "$out"; then
		echo "$name refused"
	else
		echo "$name"
	fi
}

plan 11
is "$(policy_of 65534 "$T/bin/plain")" via-argv0 \
	"an ordinary program run as python3 gets the python3 policy (setup works)"
is "$(policy_of 65534 "$T/bin/suid")" default-secure \
	"set-user-ID root, run by uid 65534 as python3: the built-in default-secure"
is "$(policy_of 65534 "$T/bin/sgid")" default-secure \
	"set-group-ID root, run by uid 65534 as python3: the built-in default-secure"
if [ $fcap = yes ]; then
	is "$(policy_of 65534 "$T/bin/fcap")" default-secure \
		"file capability (AT_SECURE, same uid), run as python3: the built-in default-secure"
else
	skip 1 "setcap not installed or refused on tmpfs"
fi
is "$(policy_of 65534 "$T/bin/ksmp-secprog")" via-exe \
	"set-user-ID root named ksmp-secprog, run as python3: chosen by its executable"
is "$(policy_of 65534 "$T/bin/ksmp-secnox")" default-secure \
	"set-user-ID root named ksmp-secnox, its file without secure-exec yes: default-secure"
is "$(policy_of 0 "$T/bin/ksmp-secnox")" via-exe-plain \
	"root running that copy (no change of credentials): its file applies (setup works)"
is "$(policy_of 65534 "$T/bin/suid" KSMP_POLICY="$T/env.policy")" default-secure \
	"set-user-ID root: KSMP_POLICY is ignored"
is "$(policy_of 65534 "$T/bin/plain" KSMP_POLICY="$T/env.policy")" via-env \
	"an ordinary program follows KSMP_POLICY (setup works)"
is "$(policy_of 0 "$T/bin/suid")" via-argv0 \
	"root running the set-user-ID copy (no change of credentials) keeps argv[0]"
# issue 10, item 10: the compiled-in directory, under AT_SECURE
# (every root program here now says so on stderr: keep that out of the log)
chmod 666 "$PD/20-exe.policy"
r=$(policy_of 65534 "$T/bin/ksmp-secprog" 2>/dev/null)
rm -f /etc/ld.so.preload 2>/dev/null
is "$r" "20-exe refused" \
	"set-user-ID root, its policy file made 0666: refused with a message"
done_testing
