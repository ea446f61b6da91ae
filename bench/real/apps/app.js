// app.js - a Node service's working set: records parsed from JSON and CSV,
// indexes, rendered strings.   node app.js DATADIR
const fs = require("fs");
const d = process.argv[2];
const rows = JSON.parse(fs.readFileSync(d + "/data.json", "utf8"));
const lines = fs.readFileSync(d + "/data.csv", "utf8").split("\n");
const cols = lines[0].split(",");
const table = [];
for (let i = 1; i < lines.length; i++) {
  if (!lines[i]) continue;
  const v = lines[i].split(",");
  const o = {};
  cols.forEach((c, k) => { o[c] = v[k]; });
  table.push(o);
}
const byLogin = new Map(rows.map((r) => [r.login, r]));
const byCity = {};
for (const r of rows) (byCity[r.city] = byCity[r.city] || []).push(r.id);
const byTag = new Map();
for (const r of table)
  for (const t of r.tags.split(";")) {
    if (!byTag.has(t)) byTag.set(t, new Set());
    byTag.get(t).add(Number(r.id));
  }
const render = (r) => `<li><b>${r.name}</b> &lt;${r.email}&gt; (${r.city}, ${r.age}) ${r.bio} [${r.tags.join(", ")}]</li>`;
const pages = rows.map(render);
const report = pages.slice(0, 5000).join("\n");
globalThis.keep = { rows, table, byLogin, byCity, byTag, pages, report };
console.log("ready", rows.length, table.length, pages.length);
setInterval(() => {}, 1 << 30);
process.on("SIGTERM", () => process.exit(0));
