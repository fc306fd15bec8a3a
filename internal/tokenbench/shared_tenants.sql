-- Two shapes of a token search's candidate condition, in a table shared
-- by many tenants: IN (subquery), which the library writes, and
-- = ANY(ARRAY(subquery)), which runs the subquery first and probes the
-- parent's key with every candidate. Synthetic: 2,000,000 rows in 1,000
-- tenants of 2,000; a side table like the library's (primary key
-- (token, id), an index on id, no tenant column) holding 11 tokens a row,
-- truncated to 13 bits as a substring or prefix index's are by default,
-- so that a tenant's token shares its value with other tenants' rows.
--
--   psql -h 127.0.0.1 -U postgres -d test -f internal/tokenbench/shared_tenants.sql
--
-- It takes five to ten minutes (most of it the load) and drops its schema
-- at the end. RESULTS.md has the figures.

DROP SCHEMA IF EXISTS tokenbench_shared CASCADE;
CREATE SCHEMA tokenbench_shared;
SET search_path = tokenbench_shared;
CREATE TABLE contacts (id bigint PRIMARY KEY, tenant text NOT NULL, payload bytea NOT NULL);
INSERT INTO contacts
	SELECT g, 't' || (g % 1000), decode(repeat(md5(g::text), 12), 'hex')
	FROM generate_series(1, 2000000) g;
CREATE INDEX ON contacts (tenant, payload);
CREATE TABLE side (id bigint NOT NULL, token bigint NOT NULL, PRIMARY KEY (token, id));
INSERT INTO side
	SELECT DISTINCT c.id, hashint8(c.id * 16 + l) & 8191
	FROM contacts c, generate_series(0, 10) l;
CREATE INDEX ON side (id);
VACUUM ANALYZE contacts;
VACUUM ANALYZE side;

\echo 'one tenant of 2,000 rows, five tokens: IN, then = ANY(ARRAY), three times'
\timing on
\o /dev/null
SELECT * FROM contacts WHERE tenant = 't7' AND id IN (SELECT id FROM side WHERE token = ANY('{11,222,3333,4444,5555}'));
SELECT * FROM contacts WHERE tenant = 't7' AND id = ANY(ARRAY(SELECT id FROM side WHERE token = ANY('{11,222,3333,4444,5555}')));
SELECT * FROM contacts WHERE tenant = 't7' AND id IN (SELECT id FROM side WHERE token = ANY('{11,222,3333,4444,5555}'));
SELECT * FROM contacts WHERE tenant = 't7' AND id = ANY(ARRAY(SELECT id FROM side WHERE token = ANY('{11,222,3333,4444,5555}')));
SELECT * FROM contacts WHERE tenant = 't7' AND id IN (SELECT id FROM side WHERE token = ANY('{11,222,3333,4444,5555}'));
SELECT * FROM contacts WHERE tenant = 't7' AND id = ANY(ARRAY(SELECT id FROM side WHERE token = ANY('{11,222,3333,4444,5555}')));
\o
\echo 'the whole table as one tenant, seven tokens (about 19,000 rows): IN, = ANY(ARRAY), IN with random_page_cost 1.1; three times'
\o /dev/null
SELECT * FROM contacts WHERE tenant <> 'x' AND id IN (SELECT id FROM side WHERE token = ANY('{11,222,3333,4444,5555,6666,7777}'));
SELECT * FROM contacts WHERE tenant <> 'x' AND id = ANY(ARRAY(SELECT id FROM side WHERE token = ANY('{11,222,3333,4444,5555,6666,7777}')));
SET random_page_cost = 1.1;
SELECT * FROM contacts WHERE tenant <> 'x' AND id IN (SELECT id FROM side WHERE token = ANY('{11,222,3333,4444,5555,6666,7777}'));
RESET random_page_cost;
SELECT * FROM contacts WHERE tenant <> 'x' AND id IN (SELECT id FROM side WHERE token = ANY('{11,222,3333,4444,5555,6666,7777}'));
SELECT * FROM contacts WHERE tenant <> 'x' AND id = ANY(ARRAY(SELECT id FROM side WHERE token = ANY('{11,222,3333,4444,5555,6666,7777}')));
SET random_page_cost = 1.1;
SELECT * FROM contacts WHERE tenant <> 'x' AND id IN (SELECT id FROM side WHERE token = ANY('{11,222,3333,4444,5555,6666,7777}'));
RESET random_page_cost;
SELECT * FROM contacts WHERE tenant <> 'x' AND id IN (SELECT id FROM side WHERE token = ANY('{11,222,3333,4444,5555,6666,7777}'));
SELECT * FROM contacts WHERE tenant <> 'x' AND id = ANY(ARRAY(SELECT id FROM side WHERE token = ANY('{11,222,3333,4444,5555,6666,7777}')));
SET random_page_cost = 1.1;
SELECT * FROM contacts WHERE tenant <> 'x' AND id IN (SELECT id FROM side WHERE token = ANY('{11,222,3333,4444,5555,6666,7777}'));
RESET random_page_cost;
\o
\timing off
\echo 'plans: the small tenant (IN, ANY), the whole table (IN; IN with random_page_cost 1.1)'
EXPLAIN (COSTS OFF) SELECT * FROM contacts WHERE tenant = 't7' AND id IN (SELECT id FROM side WHERE token = ANY('{11,222,3333,4444,5555}'));
EXPLAIN (COSTS OFF) SELECT * FROM contacts WHERE tenant = 't7' AND id = ANY(ARRAY(SELECT id FROM side WHERE token = ANY('{11,222,3333,4444,5555}')));
EXPLAIN (COSTS OFF) SELECT * FROM contacts WHERE tenant <> 'x' AND id IN (SELECT id FROM side WHERE token = ANY('{11,222,3333,4444,5555,6666,7777}'));
SET random_page_cost = 1.1;
EXPLAIN (COSTS OFF) SELECT * FROM contacts WHERE tenant <> 'x' AND id IN (SELECT id FROM side WHERE token = ANY('{11,222,3333,4444,5555,6666,7777}'));
RESET random_page_cost;
DROP SCHEMA tokenbench_shared CASCADE;
