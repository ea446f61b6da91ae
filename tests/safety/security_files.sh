#!/bin/sh
# security_files - the library creates nothing on disk that another user
# could pre-create, replace or hijack (SECURITY.md, "Files"):
#  - under strace, a program running the library makes no file-creating or
#    socket system call at all, opens nothing for writing, and its one
#    memfd_create is "ksmpreload-state" with MFD_CLOEXEC (and sealing
#    allowed: its size is sealed);
#  - with fresh private tmpfs mounts on /tmp, /dev/shm and /run (a private
#    mount namespace), programs under the library (fork, threads, exec,
#    a policy error, debug logging) leave those directories and the
#    working directory empty.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
need_root
B=$KSMP_BUILDDIR
H=$B/tests/progs/security_ctl
[ -f "$(ksmp_lib)" ] || skip_all "libksmpreload.so not built"
LIB=$(ksmp_preload)
OUT=$(mktemp -d /tmp/ksmp-secfiles.XXXXXX)
cleanup() { rm -rf "$OUT"; }
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
cat > "$OUT/t.policy" <<'POL'
name    security-files
mode    regions
control yes
log     debug
merge   any
POL
printf 'mode bogus\n' > "$OUT/bad.policy"

plan 8

# ---- strace: what the library asks of the kernel
if command -v strace >/dev/null 2>&1; then
	CALLS=open,openat,openat2,creat,mkdir,mkdirat,symlink,symlinkat,link,linkat,rename,renameat,renameat2,mknod,mknodat,socket,bind,memfd_create
	# sh -c with a fork, a pipeline and an exec of the tiny helper, so
	# that fork and exec paths of the library run too
	env LD_PRELOAD="$LIB" KSMP_POLICY="$OUT/t.policy" KSMP_LOG=debug \
		strace -f -qq -o "$OUT/trace" -e trace="$CALLS" \
		sh -c "echo x | cat >/dev/null; '$H' kill \$\$ 0 >/dev/null" 2>/dev/null
	# the baseline: the same without the library
	strace -f -qq -o "$OUT/trace0" -e trace="$CALLS" \
		sh -c "echo x | cat >/dev/null; '$H' kill \$\$ 0 >/dev/null" 2>/dev/null
	[ -s "$OUT/trace" ] && [ -s "$OUT/trace0" ] || echo "Bail out! strace produced no trace"
	# strace -f may split a call ("... <unfinished ...>"): match the name
	# and flags, not the closing parenthesis
	n=$(grep -c 'memfd_create("ksmpreload-state", MFD_CLOEXEC|MFD_ALLOW_SEALING' "$OUT/trace")
	ok "each process under the library makes its memfd with MFD_CLOEXEC ($n)" test "$n" -ge 3
	bad=$(grep -E 'creat\(|mkdir|symlink|link\(|linkat|rename|mknod|socket\(|bind\(|shm_open|O_CREAT|O_WRONLY|O_RDWR|O_TRUNC' "$OUT/trace" | grep -v '^[0-9]* +++' | grep -v '/dev/null' || true)
	bad0=$(grep -E 'creat\(|mkdir|symlink|link\(|linkat|rename|mknod|socket\(|bind\(|shm_open|O_CREAT|O_WRONLY|O_RDWR|O_TRUNC' "$OUT/trace0" | grep -v '/dev/null' | wc -l)
	[ -n "$bad" ] && printf '# %s\n' "$bad"
	is "$(printf '%s' "$bad" | grep -c .)" "$bad0" "no file created, linked, renamed or opened for writing, no socket (beyond what the program does)"
	other=$(grep 'memfd_create(' "$OUT/trace" | grep -vc 'memfd_create("ksmpreload-state", MFD_CLOEXEC|MFD_ALLOW_SEALING')
	is "$other" 0 "no other memfd"
else
	skip_env 3 "strace not installed"
fi

# ---- private tmpfs: nothing left behind
if unshare -m true 2>/dev/null; then
	cat > "$OUT/inner.sh" <<EOF
set -e
mount --make-rprivate /
for d in /tmp /dev/shm /run; do mount -t tmpfs -o mode=1777 ksmp-sec "\$d"; done
mkdir -p /run/ksmp-cwd && cd /run/ksmp-cwd
# a threaded python program that forks, a policy error, plain tools
env LD_PRELOAD="$LIB" KSMP_POLICY="$OUT/t.policy" KSMP_LOG=debug \
	python3 -c 'import os, threading
b = bytearray(8 << 20)
t = [threading.Thread(target=lambda: bytearray(1 << 20)) for _ in range(4)]
[x.start() for x in t]; [x.join() for x in t]
p = os.fork()
if p == 0:
    os._exit(0)
os.waitpid(p, 0)' 2>/dev/null || python3 -c 'pass' 2>/dev/null || true
env LD_PRELOAD="$LIB" KSMP_POLICY="$OUT/bad.policy" sh -c 'ls / | wc -l' >/dev/null 2>&1
env LD_PRELOAD="$LIB" sh -c 'echo a | sort | uniq >/dev/null'
cd /
rmdir /run/ksmp-cwd
for d in /tmp /dev/shm /run; do echo "\$d \$(find "\$d" -mindepth 1 | wc -l)"; done
EOF
	unshare -m sh "$OUT/inner.sh" > "$OUT/left" 2>"$OUT/err"
	[ -s "$OUT/err" ] && sed 's/^/# /' "$OUT/err"
	is "$(awk '$1 == "/tmp" {print $2}' "$OUT/left")" 0 "nothing left in /tmp"
	is "$(awk '$1 == "/dev/shm" {print $2}' "$OUT/left")" 0 "nothing left in /dev/shm"
	is "$(awk '$1 == "/run" {print $2}' "$OUT/left")" 0 "nothing left in /run or the working directory"
else
	skip_env 3 "cannot unshare a mount namespace"
fi

# ---- the block dies with the process: no fd, nothing in the fd table
env LD_PRELOAD="$LIB" KSMP_POLICY="$OUT/t.policy" "$H" hold 1 7 > "$OUT/hold" 2>/dev/null &
hp=$!
i=0; while [ ! -s "$OUT/hold" ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
is "$("$H" fds "$hp")" 0 "the memfd is closed once mapped (not in the fd table)"
kill -9 "$hp" 2>/dev/null; wait "$hp" 2>/dev/null
ok "the mapping went with the process (SIGKILL)" sh -c "! grep -q ksmpreload-state /proc/$hp/maps 2>/dev/null"
done_testing
