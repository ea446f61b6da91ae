#!/usr/bin/env python3
"""estimate_oracle.py - independent checks of `ksmpreload estimate --json
--regions` output, for tests/cli/estimate_exact.sh.

  estimate_oracle.py oracle JSON PID...
      Recompute everything from /proc with a second, simple implementation
      (whole page contents as keys, no hashing) and compare it with the
      tool's figures: per region, per process and kind, in total. Also check
      that the tool scanned every private mapping and nothing else. The
      region kinds are taken from the tool (the known-data checks verify
      those).
  estimate_oracle.py known JSON D Z U R RO PID:MMAP:FILE...
      Check the figures the estimate_hold processes guarantee.

Prints "PASS msg" / "FAIL msg" lines; exit status 1 when one failed.
"""
import json
import struct
import sys

PAGE = 4096
SPECIAL = ("[vdso]", "[vvar]", "[vvar_vclock]", "[vsyscall]", "[uprobes]")
FIELDS = ("pages", "zero_pages", "saved_pages", "already_shared_pages")
failed = 0


def check(cond, msg):
    global failed
    print(("PASS " if cond else "FAIL ") + msg)
    if not cond:
        failed += 1


def maps(pid):
    out = []
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split(None, 5)
            s, e = (int(x, 16) for x in parts[0].split("-"))
            path = parts[5].strip() if len(parts) > 5 else ""
            out.append((s, e, parts[1], path))
    return out


def oracle(doc, pids):
    procs = {p["pid"]: p for p in doc["processes"]}
    seen_content = set()
    seen_pfn = set()
    tot = dict.fromkeys(FIELDS, 0)
    kinds = {}
    for pid in pids:
        p = procs.get(pid)
        check(p is not None, "pid %d is in the report" % pid)
        if p is None:
            continue
        regs = p["regions"]
        want = [(s, e) for s, e, perms, path in maps(pid)
                if perms[3] == "p" and path not in SPECIAL
                and (path == "" or path[0] == "/" or path.startswith("[anon:")
                     or path in ("[heap]", "[stack]"))]
        got = [(int(r["start"], 16), int(r["end"], 16)) for r in regs]
        check(want == got, "pid %d: every private mapping scanned, no other "
              "(%d mappings)" % (pid, len(want)))
        pk = {}
        with open("/proc/%d/pagemap" % pid, "rb") as pm, \
                open("/proc/%d/mem" % pid, "rb") as mem:
            for r in regs:
                s, e = int(r["start"], 16), int(r["end"], 16)
                c = dict.fromkeys(FIELDS, 0)
                pm.seek(s // PAGE * 8)
                ents = struct.unpack("<%dQ" % ((e - s) // PAGE),
                                     pm.read((e - s) // PAGE * 8))
                for i, ent in enumerate(ents):
                    present = ent >> 63 & 1
                    if not present or ent >> 61 & 1:
                        continue
                    excl = ent >> 56 & 1
                    pfn = ent & ((1 << 55) - 1)
                    mem.seek(s + i * PAGE)
                    data = mem.read(PAGE)
                    zero = data.count(0) == PAGE
                    if zero and not excl:
                        c["already_shared_pages"] += 1
                        continue
                    if not excl and pfn:
                        if pfn in seen_pfn:
                            c["already_shared_pages"] += 1
                            continue
                        seen_pfn.add(pfn)
                    c["pages"] += 1
                    if zero:
                        c["zero_pages"] += 1
                    elif data in seen_content:
                        c["saved_pages"] += 1
                    else:
                        seen_content.add(data)
                rc = r["counts"]
                if any(c[k] != rc[k] for k in FIELDS):
                    check(False, "pid %d region %s %s: tool %s, oracle %s" % (
                        pid, r["start"], r["kind"],
                        [rc[k] for k in FIELDS], [c[k] for k in FIELDS]))
                k = pk.setdefault(r["kind"], dict.fromkeys(FIELDS, 0))
                for f in FIELDS:
                    k[f] += c[f]
        for kind, k in pk.items():
            check(all(p["kinds"][kind][f] == k[f] for f in FIELDS),
                  "pid %d kind %s exact: %s" % (pid, kind, [k[f] for f in FIELDS]))
            g = kinds.setdefault(kind, dict.fromkeys(FIELDS, 0))
            for f in FIELDS:
                g[f] += k[f]
                tot[f] += k[f]
    for kind, k in kinds.items():
        check(all(doc["kinds"][kind][f] == k[f] for f in FIELDS),
              "all pids, kind %s exact: %s" % (kind, [k[f] for f in FIELDS]))
    check(all(doc["total"][f] == tot[f] for f in FIELDS),
          "total exact: tool %s, oracle %s" % (
              [doc["total"][f] for f in FIELDS], [tot[f] for f in FIELDS]))


def known(doc, d, z, u, r, ro, specs):
    procs = {p["pid"]: p for p in doc["processes"]}
    for idx, spec in enumerate(specs):
        pid, mm, fm = spec.split(":")
        pid = int(pid)
        p = procs.get(pid)
        check(p is not None, "pid %d reported" % pid)
        if p is None:
            continue
        later = idx > 0     # the first process keeps the first copies
        regs = {r_["start"]: r_ for r_ in p["regions"]}
        m = regs.get(mm.lstrip("0") or "0")
        check(m is not None and m["kind"] == "mmap",
              "pid %d: the mmap region is kind mmap" % pid)
        if m:
            c = m["counts"]
            check([c["pages"], c["zero_pages"], c["saved_pages"]] ==
                  [d + z + u + r, z, (d if later else 0) + max(r - 1, 0)],
                  "pid %d: mmap region exact (pages %d zero %d saved %d)" % (
                      pid, c["pages"], c["zero_pages"], c["saved_pages"]))
        f = regs.get(fm.lstrip("0") or "0")
        check(f is not None and f["kind"] == "file",
              "pid %d: the file mapping is kind file" % pid)
        if f:
            c = f["counts"]
            check([c["pages"], c["zero_pages"], c["saved_pages"]] ==
                  [d + z + u, z, d if later else 0],
                  "pid %d: private file mapping exact, %d read-only page-cache "
                  "pages not counted (pages %d zero %d saved %d)" % (
                      pid, ro, c["pages"], c["zero_pages"], c["saved_pages"]))
        # heap, arena, stack (two: main and thread) also hold other data:
        # at least the known pages must be there, in the right kind
        for kind, times in (("heap", 1), ("arena", 1), ("stack", 2)):
            c = p["kinds"][kind]
            ok = (c["pages"] >= times * (d + z + u) and c["zero_pages"] >= times * z
                  and c["saved_pages"] >= (times * d if later else 0))
            check(ok, "pid %d: kind %s holds the known data (pages %d zero %d "
                  "saved %d)" % (pid, kind, c["pages"], c["zero_pages"],
                                 c["saved_pages"]))
    # internal consistency: regions -> kinds -> process -> total
    tot = dict.fromkeys(FIELDS, 0)
    for p in doc["processes"]:
        ks = {}
        for r_ in p["regions"]:
            k = ks.setdefault(r_["kind"], dict.fromkeys(FIELDS, 0))
            for fl in FIELDS:
                k[fl] += r_["counts"][fl]
        same = all(p["kinds"][k][fl] == ks.get(k, dict.fromkeys(FIELDS, 0))[fl]
                   for k in p["kinds"] for fl in FIELDS)
        same = same and all(p["total"][fl] == sum(p["kinds"][k][fl] for k in p["kinds"])
                            for fl in FIELDS)
        check(same, "pid %d: regions add up to kinds and total" % p["pid"])
        for fl in FIELDS:
            tot[fl] += p["total"][fl]
    check(all(doc["total"][fl] == tot[fl] for fl in FIELDS),
          "processes add up to the total")
    check(all(doc["total"][fl] == sum(doc["kinds"][k][fl] for k in doc["kinds"])
              for fl in FIELDS), "kinds add up to the total")


def main():
    mode, path = sys.argv[1], sys.argv[2]
    with open(path) as f:
        doc = json.load(f)
    if mode == "oracle":
        oracle(doc, [int(x) for x in sys.argv[3:]])
    else:
        d, z, u, r, ro = (int(x) for x in sys.argv[3:8])
        known(doc, d, z, u, r, ro, sys.argv[8:])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
