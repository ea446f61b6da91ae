# gendata.py - the benchmark's deterministic data set, written once per run.
#   python3 gendata.py DIR RECORDS
# DIR/data.json   a list of user records (JSON objects)
# DIR/data.csv    the same records as CSV (tags joined with ';')
# DIR/redis.resp  HSET per record and a rendered string per record, in the
#                 Redis protocol for redis-cli --pipe
# DIR/memcached.txt  "set" commands (noreply): one JSON record each, a
#                 rendered line each, rendered fragments of 16 records,
#                 rendered list pages of 128 records
import json, random, sys

out, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(20261201)
syll = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "si", "be", "du", "fa", "go",
        "hi", "ju", "pe", "qu", "ri", "so", "tu", "wa", "xe", "yo", "ze"]
vocab = ["".join(rnd.choice(syll) for _ in range(rnd.randint(2, 4))) for _ in range(600)]
cities = ["%s%s" % (rnd.choice(vocab).capitalize(), rnd.choice(["ton", "burg", "ville", "by"]))
          for _ in range(60)]
tags = vocab[:40]
recs = []
for i in range(n):
    first, last = rnd.choice(vocab).capitalize(), rnd.choice(vocab).capitalize()
    recs.append({
        "id": i,
        "name": "%s %s" % (first, last),
        "login": "%s.%s%d" % (first.lower(), last.lower(), i),
        "email": "%s.%s%d@example.org" % (first.lower(), last.lower(), i),
        "city": rnd.choice(cities),
        "age": rnd.randint(18, 90),
        "score": round(rnd.random() * 1000, 3),
        "tags": rnd.sample(tags, 3),
        "created": "2026-%02d-%02dT%02d:%02d:%02dZ" % (rnd.randint(1, 12), rnd.randint(1, 28),
                                                       rnd.randint(0, 23), rnd.randint(0, 59),
                                                       rnd.randint(0, 59)),
        "bio": " ".join(rnd.choice(vocab) for _ in range(rnd.randint(8, 30))),
    })
with open(out + "/data.json", "w") as f:
    json.dump(recs, f)
cols = ["id", "name", "login", "email", "city", "age", "score", "tags", "created", "bio"]
with open(out + "/data.csv", "w") as f:
    f.write(",".join(cols) + "\n")
    for r in recs:
        f.write(",".join(";".join(r[c]) if c == "tags" else str(r[c]) for c in cols) + "\n")

def resp(*args):
    b = [b"*%d\r\n" % len(args)]
    for a in args:
        a = str(a).encode()
        b.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(b)

with open(out + "/redis.resp", "wb") as f:
    for r in recs:
        f.write(resp("HSET", "user:%d" % r["id"], *[x for c in cols[1:] for x in
                     (c, ";".join(r[c]) if c == "tags" else r[c])]))
        f.write(resp("SET", "page:%d" % r["id"], "<li><b>%s</b> (%s) %s: %s</li>" %
                     (r["name"], r["city"], r["email"], r["bio"])))
        f.write(resp("SADD", "city:%s" % r["city"], r["id"]))
with open(out + "/memcached.txt", "wb") as f:
    for r in recs:
        v = json.dumps(r).encode()
        f.write(b"set user:%d 0 0 %d noreply\r\n%s\r\n" % (r["id"], len(v), v))
        v = ("<li><b>%s</b> (%s) %s</li>" % (r["name"], r["city"], r["bio"])).encode()
        f.write(b"set page:%d 0 0 %d noreply\r\n%s\r\n" % (r["id"], len(v), v))
    # cached page fragments: 16 rendered records each (a few KiB)
    for i in range(0, n, 16):
        v = "\n".join("<li><b>%s</b> &lt;%s&gt; (%s) %s</li>" % (r["name"], r["email"], r["city"],
                                                               r["bio"]) for r in recs[i:i + 16])
        v = v.encode()
        f.write(b"set frag:%d 0 0 %d noreply\r\n%s\r\n" % (i // 16, len(v), v))
    # cached rendered list pages: 128 records each (about 32 KiB). Items
    # this big hold whole pages free of memcached's per-item headers
    # (pointers, times), the only kind that can repeat across instances:
    # without them 4 instances held ~190 duplicate pages of 16000.
    for i in range(0, n, 128):
        v = "\n".join("<li><b>%s</b> &lt;%s&gt; (%s, %d) %s [%s]</li>" % (
            r["name"], r["email"], r["city"], r["age"], r["bio"], ", ".join(r["tags"]))
            for r in recs[i:i + 128]).encode()
        f.write(b"set list:%d 0 0 %d noreply\r\n%s\r\n" % (i // 128, len(v), v))
