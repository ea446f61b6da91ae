#!/bin/sh
# ksmpreload estimate, kind data: two ksmp-data processes (no library)
# hold equal pages in their own .bss (1 MiB, mostly in the anonymous .bss
# tail) and .data (256 KiB), and in the .bss of two objects they dlopen
# (512 KiB each). The mappings that hold them are kind data, the RELRO
# table's is not, and the second process's copies are counted as savings
# of kind data.
. "${KSMP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "$KSMP_SRCDIR/tests/preload_common.sh"
command -v python3 >/dev/null 2>&1 || skip_all_env "python3 not installed"
[ -x "$KSMP_BUILDDIR/cli/ksmpreload" ] && [ -x "$PROGS/ksmp-data" ] || skip_all "not built"
pl_tmp
tmp=$PL_TMP

pids=""
for i in 1 2; do
	pl_start "$tmp/d$i" "$PROGS/ksmp-data" -s 9 "$PROGS/libcrypto.so.ksmpdata" \
		"$PROGS/libksmpdata.so"
	pids="$pids $PL_LAST"
done
for i in 1 2; do pl_wait_ready "$tmp/d$i" || true; done
set -- $pids
"$KSMP_BUILDDIR/cli/ksmpreload" estimate --json --regions "$@" >"$tmp/est.json" 2>"$tmp/est.err"
is "$?" 0 "estimate exits 0"
python3 - "$tmp/est.json" "$tmp/d1" "$1" >"$tmp/res" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
addrs = {}
for line in open(sys.argv[2]):
    w = line.split()
    if w and w[0] == "region":
        addrs[w[2]] = int(w[3], 16)
p = [x for x in doc["processes"] if x["pid"] == int(sys.argv[3])][0]
def kind_at(a):
    for r in p["regions"]:
        if int(r["start"], 16) <= a < int(r["end"], 16):
            return r["kind"]
    return "none"
def ok(cond, msg):
    print("%d %s" % (0 if cond else 1, msg))
for name in ("bss", "data", "crypto", "late"):
    k = kind_at(addrs[name])
    ok(k == "data", "the %s region is kind data (%s)" % (name, k))
k = kind_at(addrs["relro"])
ok(k != "data", "the RELRO table is not kind data (%s)" % k)
want = (256 + 64 + 128 + 128) * 9 // 10
got = doc["kinds"]["data"]["saved_pages"]
ok(got >= want, "kind data saves %d pages >= %d" % (got, want))
PY
[ -s "$tmp/res" ] || _tap_result 1 "the report parses"
while read -r st msg; do _tap_result "$st" "$msg"; done <"$tmp/res"
plan "$tap_n"
pl_stop
done_testing
