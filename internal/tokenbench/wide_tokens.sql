-- The candidate condition for a token index whose tokens are wide (a range
-- index's are 64 bits by default), in a table shared by a large tenant and
-- many small ones: IN (subquery) against = ANY(ARRAY(subquery)).
-- shared_tenants.sql measured the two with tokens truncated to 13 bits,
-- which every tenant's rows share, so that the subquery's candidates are
-- mostly other tenants' rows; here a tenant's tokens are its own (an HMAC
-- under its own key, modelled by a hash of the tenant's name), so the
-- candidates are the tenant's rows and nothing else. Synthetic: 1,000,000
-- rows, one tenant of 500,000 and 250 of 2,000, each with a day in five
-- years and the 11 tokens of a range index over the days (one per level
-- of the dyadic tree), in a side table like the library's.
--
--   psql -h 127.0.0.1 -U postgres -d test -f internal/tokenbench/wide_tokens.sql
--
-- It takes a few minutes (most of it the load) and drops its schema at the
-- end. RESULTS.md has the figures.

DROP SCHEMA IF EXISTS tokenbench_wide CASCADE;
CREATE SCHEMA tokenbench_wide;
SET search_path = tokenbench_wide;

CREATE TABLE contacts (id bigint PRIMARY KEY, tenant text NOT NULL, day int NOT NULL, payload bytea NOT NULL);
INSERT INTO contacts
	SELECT g,
		CASE WHEN g <= 500000 THEN 'big' ELSE 't' || (g % 250) END,
		(hashint8(g) & 2147483647) % 1826,
		decode(repeat(md5(g::text), 12), 'hex')
	FROM generate_series(1, 1000000) g;
CREATE INDEX ON contacts (tenant, day); -- the plaintext query's index

-- token(tenant, level, node): a 64-bit token of one node of the tree.
CREATE FUNCTION token(t text, l int, n int) RETURNS bigint
	LANGUAGE sql IMMUTABLE AS $$ SELECT hashtextextended(t || ':' || l || ':' || n, 0) $$;

CREATE TABLE side (id bigint NOT NULL, token bigint NOT NULL, PRIMARY KEY (token, id));
INSERT INTO side
	SELECT c.id, token(c.tenant, l, c.day >> l)
	FROM contacts c, generate_series(0, 10) l;
CREATE INDEX ON side (id);
VACUUM ANALYZE contacts;
VACUUM ANALYZE side;

-- cover(t, a, b): the tokens of the minimal dyadic cover of [a, b], as the
-- library's query carries them.
CREATE FUNCTION cover(t text, a int, b int) RETURNS bigint[]
	LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	toks bigint[] := '{}';
	l int;
BEGIN
	WHILE a <= b LOOP
		l := 10;
		WHILE l > 0 AND (a % (1 << l) <> 0 OR a + (1 << l) - 1 > b) LOOP
			l := l - 1;
		END LOOP;
		toks := toks || token(t, l, a >> l);
		a := a + (1 << l);
	END LOOP;
	RETURN toks;
END $$;

SELECT cover('t7', 300, 330) AS small_month \gset
SELECT cover('big', 300, 330) AS big_month \gset
SELECT cover('big', 300, 1029) AS big_two_years \gset
SELECT count(*) AS rows, (SELECT count(*) FROM contacts WHERE tenant = 't7' AND day BETWEEN 300 AND 330) AS small_month,
	(SELECT count(*) FROM contacts WHERE tenant = 'big' AND day BETWEEN 300 AND 330) AS big_month,
	(SELECT count(*) FROM contacts WHERE tenant = 'big' AND day BETWEEN 300 AND 1029) AS big_two_years
	FROM contacts;

\timing on
\o /dev/null
\echo 'a small tenant (2,000 rows), a month: plaintext, IN, = ANY(ARRAY); three times'
SELECT * FROM contacts WHERE tenant = 't7' AND day BETWEEN 300 AND 330;
SELECT * FROM contacts WHERE tenant = 't7' AND id IN (SELECT id FROM side WHERE token = ANY(:'small_month'));
SELECT * FROM contacts WHERE tenant = 't7' AND id = ANY(ARRAY(SELECT id FROM side WHERE token = ANY(:'small_month')));
SELECT * FROM contacts WHERE tenant = 't7' AND day BETWEEN 300 AND 330;
SELECT * FROM contacts WHERE tenant = 't7' AND id IN (SELECT id FROM side WHERE token = ANY(:'small_month'));
SELECT * FROM contacts WHERE tenant = 't7' AND id = ANY(ARRAY(SELECT id FROM side WHERE token = ANY(:'small_month')));
SELECT * FROM contacts WHERE tenant = 't7' AND day BETWEEN 300 AND 330;
SELECT * FROM contacts WHERE tenant = 't7' AND id IN (SELECT id FROM side WHERE token = ANY(:'small_month'));
SELECT * FROM contacts WHERE tenant = 't7' AND id = ANY(ARRAY(SELECT id FROM side WHERE token = ANY(:'small_month')));
\echo 'the large tenant (500,000 rows), a month: plaintext, IN, = ANY(ARRAY); three times'
SELECT * FROM contacts WHERE tenant = 'big' AND day BETWEEN 300 AND 330;
SELECT * FROM contacts WHERE tenant = 'big' AND id IN (SELECT id FROM side WHERE token = ANY(:'big_month'));
SELECT * FROM contacts WHERE tenant = 'big' AND id = ANY(ARRAY(SELECT id FROM side WHERE token = ANY(:'big_month')));
SELECT * FROM contacts WHERE tenant = 'big' AND day BETWEEN 300 AND 330;
SELECT * FROM contacts WHERE tenant = 'big' AND id IN (SELECT id FROM side WHERE token = ANY(:'big_month'));
SELECT * FROM contacts WHERE tenant = 'big' AND id = ANY(ARRAY(SELECT id FROM side WHERE token = ANY(:'big_month')));
SELECT * FROM contacts WHERE tenant = 'big' AND day BETWEEN 300 AND 330;
SELECT * FROM contacts WHERE tenant = 'big' AND id IN (SELECT id FROM side WHERE token = ANY(:'big_month'));
SELECT * FROM contacts WHERE tenant = 'big' AND id = ANY(ARRAY(SELECT id FROM side WHERE token = ANY(:'big_month')));
\echo 'the large tenant, two years (40% of its rows): plaintext, IN, = ANY(ARRAY); three times'
SELECT * FROM contacts WHERE tenant = 'big' AND day BETWEEN 300 AND 1029;
SELECT * FROM contacts WHERE tenant = 'big' AND id IN (SELECT id FROM side WHERE token = ANY(:'big_two_years'));
SELECT * FROM contacts WHERE tenant = 'big' AND id = ANY(ARRAY(SELECT id FROM side WHERE token = ANY(:'big_two_years')));
SELECT * FROM contacts WHERE tenant = 'big' AND day BETWEEN 300 AND 1029;
SELECT * FROM contacts WHERE tenant = 'big' AND id IN (SELECT id FROM side WHERE token = ANY(:'big_two_years'));
SELECT * FROM contacts WHERE tenant = 'big' AND id = ANY(ARRAY(SELECT id FROM side WHERE token = ANY(:'big_two_years')));
SELECT * FROM contacts WHERE tenant = 'big' AND day BETWEEN 300 AND 1029;
SELECT * FROM contacts WHERE tenant = 'big' AND id IN (SELECT id FROM side WHERE token = ANY(:'big_two_years'));
SELECT * FROM contacts WHERE tenant = 'big' AND id = ANY(ARRAY(SELECT id FROM side WHERE token = ANY(:'big_two_years')));
\o
\timing off

\echo 'plans: the large tenant, a month (IN, then = ANY(ARRAY))'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON)
SELECT * FROM contacts WHERE tenant = 'big' AND id IN (SELECT id FROM side WHERE token = ANY(:'big_month'));
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON)
SELECT * FROM contacts WHERE tenant = 'big' AND id = ANY(ARRAY(SELECT id FROM side WHERE token = ANY(:'big_month')));

DROP SCHEMA tokenbench_wide CASCADE;
