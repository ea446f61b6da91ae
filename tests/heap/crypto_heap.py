# crypto_heap.py - run by heap_python.sh: OpenSSL (through ssl and hashlib)
# allocates; prints results, then how many 32 MiB crypto heap segments
# the process has and whether they or [heap] have the mg flag.
import hashlib, ssl
ctx = ssl.create_default_context()
k = hashlib.pbkdf2_hmac("sha256", b"pw", b"salt", 2000).hex()
print(k, ctx.cert_store_stats()["x509_ca"] > 0)
# the crypto heap: a 32 MiB reservation, read-write part first
maps, cur = [], None
for line in open("/proc/self/smaps"):
    f = line.split()
    if "-" in f[0] and len(f) >= 5 and ":" in f[3]:
        lo, hi = (int(x, 16) for x in f[0].split("-"))
        cur = {"lo": lo, "hi": hi, "perm": f[1], "name": f[5] if len(f) > 5 else "", "mg": False}
        maps.append(cur)
    elif f[0] == "VmFlags:":
        cur["mg"] = "mg" in f[1:]
seg = [a for a, b in zip(maps, maps[1:]) if a["perm"] == "rw-p" and b["perm"] == "---p"
       and not a["name"] and not b["name"] and a["hi"] == b["lo"] and b["hi"] - a["lo"] == 32 << 20]
heap = [m for m in maps if m["name"] == "[heap]"]
print("segments", len(seg), "segment-mg", int(any(s["mg"] for s in seg)),
      "heap-mg", int(any(m["mg"] for m in heap)))
