# shortwrite_common.sh - sourced by tests/mergefs/mergefs_shortwrite.sh and
# tests/attach/attach_shortwrite.sh (after tap.sh): a python3 writer of
# 3 x 8 MiB in single sys.stdout.write calls ("ready" on stderr first; CPython 3.11 loses the rest
# of one that returns short), with 0.3 s asleep after each (a moment when
# attach may stop it even on a loaded machine) and a slow reader that drains the pipe
# 64 KiB at a time and prints the byte count and sha256. Not a test.
#
#   sw_files DIR TAG   writes DIR/writer.py and DIR/reader.py (TAG makes
#                      the data unique to the test) and sets SW_WANT to
#                      what the reader must print
sw_files() {
	cat > "$1/writer.py" <<PY
import sys, time
print("ready", file=sys.stderr, flush=True)
time.sleep(0.3)
for i in range(3):
    u = "$2 %d " % i
    sys.stdout.write((u * ((8 << 20) // len(u) + 1))[: 8 << 20])
    sys.stdout.flush()
    time.sleep(0.3)
PY
	cat > "$1/reader.py" <<'PY'
import hashlib, os, sys, time
h, n = hashlib.sha256(), 0
while True:
    b = os.read(0, 65536)
    if not b:
        break
    h.update(b); n += len(b)
    time.sleep(0.002)
print(n, h.hexdigest())
PY
	SW_WANT=$(/usr/bin/python3 -c '
import hashlib, sys
h = hashlib.sha256()
for i in range(3):
    u = sys.argv[1] + " %d " % i
    h.update((u * ((8 << 20) // len(u) + 1))[: 8 << 20].encode())
print(3 * (8 << 20), h.hexdigest())' "$2")
}
