#!/bin/sh
# Issue 12 item 5: every command shown in README.md ("On a fresh machine",
# "A short tour") and in the EXAMPLES of the man pages runs as written,
# once from the build tree and once from a `make install DESTDIR=` tree.
# The commands are extracted from the files (tests/hosts/tour_extract.py),
# so this test breaks when the docs change. What it does to them, and
# only that: a leading "sudo " is dropped (it runs as root); 1234 becomes
# the PID of a program it started under the library, 0x7f0000000000 an
# anonymous mapping of that program; for the install tree the configured
# prefix gets DESTDIR in front and KSMP_LIBRARY / KSMP_POLICY_DIR point
# into it (compiled-in paths cannot know DESTDIR); for the build tree the
# installed library and policy paths become the build tree's. The files
# the examples name (app.py, worker.py, bad.policy, ./workers.policy,
# policy/) are made in a scratch directory. Setup commands (configure,
# make, install, demo.sh, check.sh, systemctl) are skipped with the
# reason. In a sanitizer build the ASan runtime is put first in
# LD_PRELOAD, as the library needs there. The whole test runs in a private mount namespace, so that the
# examples' /mergefs mounts nothing on the host.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
need_root
need_ksm
need_fuse
command -v python3 >/dev/null 2>&1 || skip_all_env "python3 not installed"
command -v unshare >/dev/null 2>&1 || skip_all_env "unshare not installed (util-linux)"
ksm_fast "$@"
if [ -z "${KSMP_TOUR_NS:-}" ]; then
	KSMP_TOUR_NS=1 exec unshare -m --propagation private "$SHELL_FOR_TEST" "$0" "$@"
fi
S=$KSMP_SRCDIR
B=$KSMP_BUILDDIR
T=$(mktemp -d /tmp/ksmp-hosts-tour.XXXXXX)
made_mergefs=
[ -e /mergefs ] || made_mergefs=1
BG=
cleanup() {
	[ -n "$BG" ] && kill "$BG" 2>/dev/null && wait "$BG" 2>/dev/null
	mountpoint -q /mergefs 2>/dev/null && fusermount3 -u /mergefs
	[ -n "$made_mergefs" ] && rmdir /mergefs 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
unset KSMP_POLICY_DIR KSMP_POLICY KSMP_LIBRARY
ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=0"; export ASAN_OPTIONS
# sanitizer build: the ASan runtime must come first; ksmpreload appends
sanitized && { LD_PRELOAD=$KSMP_ASAN_RUNTIME; export LD_PRELOAD; }
eval "$(make -s --no-print-directory -C "$B" hosts-print-dirs | grep "^[a-z]*='")"

mkdir "$T/cmds" "$T/work"
n=$(python3 "$S/tests/hosts/tour_extract.py" "$T/cmds" "$S/README.md" "$S"/man/*.[1-8])
[ "$n" -gt 0 ] || { echo "1..1"; echo "not ok 1 - no commands found in the docs"; exit 1; }
D=$T/dest
make -s --no-print-directory -C "$B" install DESTDIR="$D" > "$T/install.log" 2>&1 ||
	{ echo "1..1"; echo "not ok 1 - make install DESTDIR failed"; sed 's/^/# /' "$T/install.log"; exit 1; }
mkdir "$T/cmds-inst"
python3 "$S/tests/hosts/tour_extract.py" "$T/cmds-inst" "$S/README.md" "$D$mandir"/man*/* > /dev/null
ninst=$(ls "$T/cmds-inst"/*.sh | wc -l)
plan $((n + ninst))

# the files the examples name
W=$T/work
cat > "$W/app.py" <<'PY'
import os, time
data = [(b"ksmp-tour %d " % (i % 64)) * 256 for i in range(4096)]
blob = bytes(range(256)) * 16384
print("ready", flush=True)
time.sleep(float(os.environ.get("TOUR_SLEEP", "0.2")))
PY
cp "$W/app.py" "$W/worker.py"
printf 'name bad\nmode fast\nmerge heap\nmerge mmap min=12Q\nfrobnicate\n' > "$W/bad.policy"
printf 'name workers\nprogram python3*\nmerge mmap min=64K prot=rw\n' > "$W/workers.policy"
ln -s "$S/policy" "$W/policy"

start_target() { # a python3 under the library, for 1234
	TOUR_SLEEP=600 ksmpreload -- python3 "$W/app.py" > "$T/bg.out" 2>&1 &
	BG=$!
	for _ in $(seq 100); do grep -q ready "$T/bg.out" 2>/dev/null && break; sleep 0.1; done
	ADDR=$(python3 - "$BG" <<'PY'
import sys
best = None
for line in open("/proc/%s/maps" % sys.argv[1]):
    f = line.split()
    if f[1].startswith("rw-p") and len(f) == 5:
        lo, hi = (int(x, 16) for x in f[0].split("-"))
        if hi - lo >= 1 << 20:
            print(hex(lo)); break
        best = best or hex(lo)
else:
    print(best)
PY
)
}

run_pass() { # run_pass NAME DIR: every extracted command, in order
	pass=$1; dir=$2
	start_target
	for f in "$dir"/*.sh; do
		src=$(cat "${f%.sh}.src"); cmd=$(cat "$f")
		case $cmd in
		./autogen.sh*|*"make install"*) skip 1 "$pass: $src: $cmd (the build and install this test runs in)"; continue ;;
		./demo.sh|./check.sh) skip 1 "$pass: $src: $cmd (the long jobs; check.sh runs this test)"; continue ;;
		*systemctl*) skip 1 "$pass: $src: $cmd (enables a unit in the running system; tests/hosts/install.sh verifies the unit)"; continue ;;
		esac
		run=$(printf '%s\n' "$cmd" | sed -e 's/^sudo //' -e "s/1234/$BG/g" -e "s/0x7f0000000000/$ADDR/g")
		if [ "$pass" = install ]; then
			run=$(printf '%s\n' "$run" | sed "s|$prefix/|$D$prefix/|g")
		else
			run=$(printf '%s\n' "$run" | sed -e "s|$vendorpolicydir|$S/policy|g" \
				-e "s|$pkglibdir/libksmpreload.so|$B/preload/libksmpreload.so|g")
		fi
		sanitized && run=$(printf '%s\n' "$run" | sed "s|LD_PRELOAD=|LD_PRELOAD=$KSMP_ASAN_RUNTIME:|")
		sleep_for=0.2
		case $cmd in *profile*) sleep_for=120 ;; esac
		pre=${LD_PRELOAD:-}
		# attach's examples stop a `sleep` they start: with the ASan
		# runtime preloaded into it, its prctl(PR_SET_MEMORY_MERGE, 0)
		# walks the runtime's terabytes of shadow for minutes; the
		# (sanitized) ksmpreload needs no preload of its own
		case $cmd in *"ksmpreload attach"*) pre= ;; esac
		(cd "$W" && LD_PRELOAD=$pre TOUR_SLEEP=$sleep_for vendorpolicydir=$VPD \
			timeout 120 sh -c "$run") > "$T/out" 2>&1
		rc=$?
		if [ -f "${f%.sh}.want" ]; then
			if diff "${f%.sh}.want" "$T/out" > "$T/diff"; then r=0; else r=1; sed 's/^/# /' "$T/diff"; fi
			_tap_result $r "$pass: $src: output as shown: $(echo "$cmd" | head -1)"
		else
			[ $rc -eq 0 ] || { echo "# rc $rc: $run"; sed 's/^/# /' "$T/out" | tail -8; }
			_tap_result $rc "$pass: $src: $cmd"
		fi
	done
	kill "$BG" 2>/dev/null; wait "$BG" 2>/dev/null; BG=
	mountpoint -q /mergefs 2>/dev/null && fusermount3 -u /mergefs
}

# python3 is the system's when there is one (not a version manager's
# slow shim that may come first in PATH)
mkdir "$T/bin"
[ -x /usr/bin/python3 ] && ln -s /usr/bin/python3 "$T/bin/python3"
# from the build tree
PATH0=$T/bin:$PATH
PATH=$B/cli:$B/mergefs:$PATH0; export PATH
VPD=$S/policy
run_pass build "$T/cmds"
# from the install tree
PATH=$D$bindir:$D$sbindir:$PATH0
KSMP_LIBRARY=$D$pkglibdir/libksmpreload.so KSMP_POLICY_DIR=$D$vendorpolicydir
export PATH KSMP_LIBRARY KSMP_POLICY_DIR
VPD=$D$vendorpolicydir
run_pass install "$T/cmds-inst"
done_testing
