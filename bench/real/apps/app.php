<?php
// app.php - a PHP CLI worker's working set: decoded arrays from JSON and
// CSV, indexes, rendered strings.   php app.php DATADIR
$d = $argv[1];
$rows = json_decode(file_get_contents("$d/data.json"), true);
$table = [];
$f = fopen("$d/data.csv", "r");
$cols = fgetcsv($f, null, ",", "\"", "");
while (($v = fgetcsv($f, null, ",", "\"", "")) !== false)
    $table[] = array_combine($cols, $v);
fclose($f);
$byLogin = [];
$byCity = [];
foreach ($rows as $i => $r) {
    $byLogin[$r["login"]] = $i;
    $byCity[$r["city"]][] = $r["id"];
}
$byTag = [];
foreach ($table as $r)
    foreach (explode(";", $r["tags"]) as $t)
        $byTag[$t][(int)$r["id"]] = true;
$pages = [];
foreach ($rows as $r)
    $pages[] = sprintf("<li><b>%s</b> &lt;%s&gt; (%s, %d) %s [%s]</li>", $r["name"],
                       $r["email"], $r["city"], $r["age"], $r["bio"], implode(", ", $r["tags"]));
$report = implode("\n", array_slice($pages, 0, 5000));
echo "ready ", count($rows), " ", count($table), " ", count($pages), "\n";
while (true)
    sleep(3600);
