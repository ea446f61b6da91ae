-- sqlite.sql - an in-memory database with 64 KiB pages: the records, two
-- indexes and a rendered table.   sqlite3 -batch -init sqlite.sql :memory:
-- (run from the data directory; reads data.csv)
PRAGMA page_size = 65536;
PRAGMA cache_size = -2000000;
.mode csv
.import data.csv users
CREATE INDEX users_login ON users(login);
CREATE INDEX users_city ON users(city, age);
CREATE TABLE pages AS SELECT id, '<li><b>' || name || '</b> &lt;' || email || '&gt; (' || city || ', ' || age || ') ' || bio || ' [' || tags || ']</li>' AS html FROM users;
.mode list
SELECT 'ready', count(*), (SELECT count(*) FROM pages) FROM users;
