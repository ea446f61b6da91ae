#!/bin/sh
# estimate_hostile - `ksmpreload estimate` against a hostile process
# (issue 10, items 9 and 5), tests/libsec/estimate_collide:
#  - it holds 1,000 pairs of different pages built to collide under the
#    page hash keyed with the command's old fixed key, and 100 pairs of
#    equal pages: the report must save 0 pages in the first mapping and 100
#    in the second (with the fixed key it saved 1,000 pages that KSM would
#    never merge). Run twice: the key is drawn per run, both must agree;
#  - it is named ESC ]2;PWNED BEL 0xff (PR_SET_NAME): the tables show
#    \x1b]2;PWNED\x07\xff and carry no control byte and no invalid UTF-8
#    to the terminal; the JSON form stays valid JSON in UTF-8.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
command -v python3 >/dev/null 2>&1 || skip_all_env "python3 not installed"
K=$KSMP_BUILDDIR/cli/ksmpreload
C=$KSMP_BUILDDIR/tests/libsec/estimate_collide
[ -x "$K" ] && [ -x "$C" ] || skip_all "not built"
. "$KSMP_SRCDIR/tests/libsec/common.sh"
ls_scratch estimate

"$C" 1000 100 "$(printf '\033]2;PWNED\007\377')" > "$T/ready" &
PIDS=$!
ls_ready "$T/ready"
read -r _ pid addr daddr < "$T/ready" || skip_all "estimate_collide did not start"

# region ADDR FILE: "pages zero saved" of the mapping starting at ADDR
region() {
	python3 - "$1" "$2" <<'PY'
import json, sys
addr, path = int(sys.argv[1], 16), sys.argv[2]
for p in json.load(open(path))["processes"]:
    for r in p.get("regions", []):
        if int(r["start"], 16) == addr:
            c = r["counts"]
            print(c["pages"], c["zero_pages"], c["saved_pages"])
            sys.exit(0)
print("no-region")
PY
}
clean() { # FILE: valid UTF-8, no control bytes but newline and tab
	python3 - "$1" <<'PY'
import re, sys
b = open(sys.argv[1], "rb").read()
try:
    b.decode("utf-8")
except UnicodeDecodeError as e:
    print("# invalid UTF-8 at byte %d" % e.start); sys.exit(1)
m = re.search(rb"[\x00-\x08\x0b-\x1f\x7f]", b)
if m:
    print("# control byte 0x%02x at %d" % (m.group()[0], m.start())); sys.exit(1)
PY
}

plan 11
for run in 1 2; do
	"$K" estimate --json --regions "$pid" > "$T/est$run.json" 2> "$T/err$run"
	is "$?" 0 "run $run: estimate exits 0"
	is "$(region "$addr" "$T/est$run.json")" "2000 0 0" \
		"run $run: 1,000 pairs of different pages with colliding fixed-key hashes: 0 saved"
	is "$(region "$daddr" "$T/est$run.json")" "200 0 100" \
		"run $run: 100 pairs of equal pages: 100 saved (the control)"
done
ok "the JSON has no control byte and is valid UTF-8" clean "$T/est1.json"
ok "and parses" python3 -m json.tool "$T/est1.json" /dev/null
"$K" estimate --by both "$pid" > "$T/table" 2> "$T/err"
ok "the table has no control byte and is valid UTF-8" clean "$T/table"
ok "the table shows the name escaped" grep -qF "$pid \\x1b]2;PWNED\\x07\\xff" "$T/table"
"$K" estimate --regions --by process "$pid" > "$T/regions" 2>&1
ok "--regions --by process, and stderr: clean too" clean "$T/regions"
done_testing
