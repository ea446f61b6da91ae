# app.py - a Python service's working set: records parsed from JSON and
# CSV, indexes, rendered strings. With a third argument N > 0 it keeps
# rewriting N records every second (the changing-data program).
#   python3 app.py DATADIR [CHANGE_PER_S]
import csv, json, signal, sys, time

d = sys.argv[1]
change = int(sys.argv[2]) if len(sys.argv) > 2 else 0
with open(d + "/data.json") as f:
    rows = json.load(f)
with open(d + "/data.csv", newline="") as f:
    table = list(csv.DictReader(f))
by_login = {r["login"]: r for r in rows}
by_city = {}
for r in rows:
    by_city.setdefault(r["city"], []).append(r["id"])
by_tag = {}
for r in table:
    for t in r["tags"].split(";"):
        by_tag.setdefault(t, set()).add(int(r["id"]))

def render(r):
    return "<li><b>%s</b> &lt;%s&gt; (%s, %d) %s [%s]</li>" % (
        r["name"], r["email"], r["city"], r["age"], r["bio"], ", ".join(r["tags"]))

pages = [render(r) for r in rows]
report = "\n".join(pages[:5000])
print("ready", len(rows), len(table), len(pages), flush=True)
if not change:
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    while True:
        signal.pause()
# Every second rewrite CHANGE records with content that depends only on
# the record and the generation, so instances stay alike.
gen, n = 0, len(rows)
while True:
    time.sleep(1)
    gen += 1
    for k in range(change):
        i = (gen * change + k) % n
        r = dict(rows[i])
        r["score"] = round((r["score"] * 7 + gen) % 1000, 3)
        r["bio"] = ("%d " % gen) + r["bio"][::-1]
        rows[i] = r
        by_login[r["login"]] = r
        pages[i] = render(r)
