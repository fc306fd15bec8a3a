package tokenbench

import (
	"time"

	"github.com/jackc/pgx/v5"
)

// tokenIndex is one of the three token indexes: its side table is
// contacts_<name> and its array column contacts_arrays.<name>_tokens.
type tokenIndex struct {
	name   string
	tokens func(*contact) []int64
	// plaintextIndex is the baseline's index on the same column.
	plaintextIndex string
}

var tokenIndexes = []tokenIndex{
	{"prefix", func(c *contact) []int64 { return c.prefixTokens }, "contacts_last_name_pattern"},
	{"email", func(c *contact) []int64 { return c.emailTokens }, "contacts_email_trgm"},
	{"created", func(c *contact) []int64 { return c.dayTokens }, "contacts_created_btree"},
}

// The tables, created without indexes: those are built after the load.
// contacts is the main table of the side-table layout and the table the
// plaintext baseline queries; contacts_arrays is the main table of the
// array layout, the same columns and one bigint[] per index. The side
// tables get their primary key (token, id) after the load.
const createTables = `
CREATE TABLE contacts (
	id        bigint NOT NULL,
	last_name text   NOT NULL,
	email     text   NOT NULL,
	created   date   NOT NULL
);
CREATE TABLE contacts_arrays (
	id             bigint   NOT NULL,
	last_name      text     NOT NULL,
	email          text     NOT NULL,
	created        date     NOT NULL,
	prefix_tokens  bigint[] NOT NULL,
	email_tokens   bigint[] NOT NULL,
	created_tokens bigint[] NOT NULL
);
CREATE TABLE contacts_prefix  (id bigint NOT NULL, token bigint NOT NULL);
CREATE TABLE contacts_email   (id bigint NOT NULL, token bigint NOT NULL);
CREATE TABLE contacts_created (id bigint NOT NULL, token bigint NOT NULL);
`

// The layouts, as the report names them.
const (
	plaintext    = "plaintext"
	sideTables   = "(a) side tables"
	arrayColumns = "(b) bigint[] + GIN"
)

// loadTime is how long one step of the bulk load took, per contact.
type loadTime struct {
	layout, step string
	perContact   time.Duration
}

// load creates the tables and fills them with COPY.
func (b *bench) load() {
	b.exec(createTables)
	b.timeLoad(plaintext+", and main table of (a)", "COPY contacts", func() {
		b.copyRows("contacts", []string{"id", "last_name", "email", "created"},
			pgx.CopyFromSlice(len(b.contacts), func(i int) ([]any, error) {
				c := &b.contacts[i]
				return []any{c.id, c.lastName, c.email, c.created()}, nil
			}))
	})
	for _, idx := range tokenIndexes {
		b.timeLoad(sideTables, "COPY contacts_"+idx.name, func() {
			b.copyRows("contacts_"+idx.name, []string{"id", "token"}, b.sideRows(idx))
		})
	}
	b.timeLoad(arrayColumns, "COPY contacts_arrays", func() {
		b.copyRows("contacts_arrays",
			[]string{"id", "last_name", "email", "created", "prefix_tokens", "email_tokens", "created_tokens"},
			pgx.CopyFromSlice(len(b.contacts), func(i int) ([]any, error) {
				c := &b.contacts[i]
				return []any{c.id, c.lastName, c.email, c.created(), c.prefixTokens, c.emailTokens, c.dayTokens}, nil
			}))
	})
}

// sideRows are the rows of an index's side table: (id, token) for each
// token of each contact.
func (b *bench) sideRows(idx tokenIndex) pgx.CopyFromSource {
	i, j := 0, 0
	return pgx.CopyFromFunc(func() ([]any, error) {
		for i < len(b.contacts) {
			c := &b.contacts[i]
			if tokens := idx.tokens(c); j < len(tokens) {
				j++
				return []any{c.id, tokens[j-1]}, nil
			}
			i, j = i+1, 0
		}
		return nil, nil
	})
}

// copyRows fills table from src with COPY.
func (b *bench) copyRows(table string, columns []string, src pgx.CopyFromSource) {
	b.t.Helper()
	n, err := b.pool.CopyFrom(b.ctx, pgx.Identifier{table}, columns, src)
	if err != nil {
		b.t.Fatalf("COPY %s: %v", table, err)
	}
	b.t.Logf("COPY %s: %d rows", table, n)
}

// buildIndexes builds every index of the three layouts on the loaded
// tables: the main tables' primary keys; the baseline's text_pattern_ops
// btree, pg_trgm GIN and date btree; the side tables' primary keys
// (token, id) and indexes on (id); the array columns' GIN indexes.
func (b *bench) buildIndexes() {
	b.timeLoad(plaintext+", and main table of (a)", "primary key", func() {
		b.exec(`ALTER TABLE contacts ADD CONSTRAINT contacts_pkey PRIMARY KEY (id)`)
	})
	b.timeLoad(plaintext, "lower(last_name) text_pattern_ops btree", func() {
		b.exec(`CREATE INDEX contacts_last_name_pattern ON contacts (lower(last_name) text_pattern_ops)`)
	})
	b.timeLoad(plaintext, "lower(email) pg_trgm GIN", func() {
		b.exec(`CREATE INDEX contacts_email_trgm ON contacts USING gin (lower(email) ` + b.trigramOpclass() + `)`)
	})
	b.timeLoad(plaintext, "created btree", func() {
		b.exec(`CREATE INDEX contacts_created_btree ON contacts (created)`)
	})
	for _, idx := range tokenIndexes {
		table := "contacts_" + idx.name
		b.timeLoad(sideTables, table+" primary key (token, id)", func() {
			b.exec(`ALTER TABLE ` + table + ` ADD CONSTRAINT ` + table + `_pkey PRIMARY KEY (token, id)`)
		})
		b.timeLoad(sideTables, table+" index (id)", func() {
			b.exec(`CREATE INDEX ` + table + `_id ON ` + table + ` (id)`)
		})
	}
	b.timeLoad(arrayColumns, "primary key", func() {
		b.exec(`ALTER TABLE contacts_arrays ADD CONSTRAINT contacts_arrays_pkey PRIMARY KEY (id)`)
	})
	for _, idx := range tokenIndexes {
		b.timeLoad(arrayColumns, idx.name+"_tokens GIN", func() {
			b.exec(`CREATE INDEX contacts_arrays_` + idx.name + `_gin ON contacts_arrays USING gin (` + idx.name + `_tokens)`)
		})
	}
}

// trigramOpclass creates the pg_trgm extension in the test's schema, where
// the schema's cleanup drops it, unless the database has it already, and
// names its GIN operator class in whichever schema holds it.
func (b *bench) trigramOpclass() string {
	b.exec(`CREATE EXTENSION IF NOT EXISTS pg_trgm`)
	var schema string
	err := b.pool.QueryRow(b.ctx,
		`SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'`).Scan(&schema)
	if err != nil {
		b.t.Fatalf("find pg_trgm's schema: %v", err)
	}
	return schema + ".gin_trgm_ops"
}

// vacuumAnalyze sets the visibility maps (for index-only scans) and the
// planner's statistics of every table before anything is measured.
func (b *bench) vacuumAnalyze() {
	b.exec(`VACUUM ANALYZE contacts, contacts_arrays, contacts_prefix, contacts_email, contacts_created`)
}

// timeLoad runs one step of the bulk load and records its time per
// contact.
func (b *bench) timeLoad(layout, step string, run func()) {
	start := time.Now()
	run()
	took := time.Since(start)
	b.loads = append(b.loads, loadTime{layout: layout, step: step, perContact: took / time.Duration(len(b.contacts))})
	b.t.Logf("load: %s: %s: %v", layout, step, took.Round(time.Millisecond))
}
