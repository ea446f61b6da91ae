# app.rb - a Ruby worker's working set: records parsed from JSON and CSV,
# indexes, rendered strings, and the raw payloads and a cache of rendered
# fragments (16 records each) kept as strings. Without the latter two the
# 4 instances held only ~20 duplicate pages (`ksmpreload estimate`): the
# parsed objects of Ruby 3.1 do not repeat page for page across processes.
#   ruby app.rb DATADIR
require "json"
d = ARGV[0]
raw_json = File.read(d + "/data.json")
rows = JSON.parse(raw_json)
raw_csv = File.read(d + "/data.csv")
lines = raw_csv.lines(chomp: true)
cols = lines.shift.split(",")
table = lines.map { |l| cols.zip(l.split(",", -1)).to_h }
by_login = rows.to_h { |r| [r["login"], r] }
by_city = Hash.new { |h, k| h[k] = [] }
rows.each { |r| by_city[r["city"]] << r["id"] }
by_tag = Hash.new { |h, k| h[k] = {} }
table.each { |r| r["tags"].split(";").each { |t| by_tag[t][r["id"].to_i] = true } }
pages = rows.map do |r|
  "<li><b>#{r["name"]}</b> &lt;#{r["email"]}&gt; (#{r["city"]}, #{r["age"]}) #{r["bio"]} [#{r["tags"].join(", ")}]</li>"
end
report = pages.first(5000).join("\n")
frags = pages.each_slice(16).map { |s| s.join("\n") }
$keep = [raw_json, raw_csv, rows, table, by_login, by_city, by_tag, pages, report, frags]
puts "ready #{rows.size} #{table.size} #{pages.size}"
$stdout.flush
trap("TERM") { exit 0 }
sleep
