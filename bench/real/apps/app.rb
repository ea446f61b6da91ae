# app.rb - a Ruby worker's working set: records parsed from JSON and CSV,
# indexes, rendered strings.   ruby app.rb DATADIR
require "json"
d = ARGV[0]
rows = JSON.parse(File.read(d + "/data.json"))
lines = File.readlines(d + "/data.csv", chomp: true)
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
$keep = [rows, table, by_login, by_city, by_tag, pages, report]
puts "ready #{rows.size} #{table.size} #{pages.size}"
$stdout.flush
trap("TERM") { exit 0 }
sleep
