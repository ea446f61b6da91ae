#!/bin/sh
# ksmpreload estimate NAME: a process found by name that exits before or
# while it is read is reported and skipped, and the run still exits 0 (the
# set found is a snapshot, as pgrep's); a pid given as such that is gone
# still makes it 1 (estimate_errors.sh). Processes of the name come and go
# (50 ms each) while a large one of the same name is read, so some are
# found and are gone by their turn.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
ksmp="$KSMP_BUILDDIR/cli/ksmpreload"
[ -x "$ksmp" ] || skip_all "not built"
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3) || skip_all_env "python3 not installed"

tmp=$(mktemp -d) || exit 1
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 1' INT TERM

# comm is the name the program was started by: a symlink names it
name=kvan$$
ln -s "$py" "$tmp/${name}a"
ln -s "$(command -v sleep)" "$tmp/${name}b"
"$tmp/${name}a" -c '
import sys, time
b = bytearray(256 << 20)
for i in range(0, len(b), 4096):
    b[i:i + 8] = (i // 4096).to_bytes(8, "little")
print("ready", flush=True)
time.sleep(120)' > "$tmp/big.out" &
big=$!; pids="$pids $big"
n=0
while [ $n -lt 200 ] && ! grep -q ready "$tmp/big.out"; do n=$((n + 1)); sleep 0.05; done
ok "a large process named $name is running" grep -q ready "$tmp/big.out"

(while :; do "$tmp/${name}b" 0.05 & sleep 0.01; done) &
churn=$!; pids="$pids $churn"

runs=20 bad=0 gone=0
i=0
while [ $i -lt $runs ]; do
	"$ksmp" estimate --json "$name" > "$tmp/o" 2> "$tmp/e"; rc=$?
	if [ $rc -ne 0 ]; then
		bad=$((bad + 1))
		echo "# run $i: exit $rc"; sed 's/^/#   /' "$tmp/e" | head -4
	fi
	grep -Eq "vanished|no such process" "$tmp/e" && gone=$((gone + 1))
	grep -q "\"pid\": *$big[,}]" "$tmp/o" || { bad=$((bad + 1)); echo "# run $i: the large process is not reported"; }
	i=$((i + 1))
done
kill $churn 2>/dev/null; wait $churn 2>/dev/null
echo "# $gone of $runs runs saw a process of the name go"
is "$bad" 0 "estimate $name: exit 0 and the large process reported in each of $runs runs"
if [ $gone -gt 0 ]; then
	ok "processes that went were reported on stderr" [ $gone -gt 0 ]
else
	skip 1 "no process went during a run on this machine (the race was not hit)"
fi
plan "$tap_n"
done_testing
