package tokenbench

import (
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
)

// writer is one way of writing rows, measured against the others.
type writer struct {
	operation, layout string
	rows              int
	// queue adds the statements that write rows from..to-1 to the batch
	// of one transaction.
	queue func(batch *pgx.Batch, from, to int)
}

// eachRow is a writer's queue that writes each row on its own, with the
// statements queueRow adds.
func eachRow(queueRow func(batch *pgx.Batch, i int)) func(*pgx.Batch, int, int) {
	return func(batch *pgx.Batch, from, to int) {
		for i := from; i < to; i++ {
			queueRow(batch, i)
		}
	}
}

// writeResult is the time one writer took per row.
type writeResult struct {
	operation, layout string
	perRow, plainRow  time.Duration // plainRow: the plain row's, measured beside it
}

// insertTokens is the statement that writes a contact's tokens ($2) into
// an index's side table, all in one statement.
func insertTokens(index string) string {
	return `INSERT INTO contacts_` + index + ` (id, token) SELECT $1, unnest($2::bigint[])`
}

// measureWrites measures what the tokens add to writing a contact, on the
// loaded tables, once the baseline's plaintext indexes are dropped (the
// library's main table holds ciphertext, indexed by nothing but its key):
// inserting writeRows new contacts, and rewriting the e-mail address of
// rewriteRows existing ones, in each layout and as the plain row alone.
// The side tables are measured with their index on (id), which deletes
// by id use, then without it, where a rewrite deletes the old tokens by
// (token, id). fresh holds the new contacts, freshContacts of them.
func (b *bench) measureWrites(fresh []contact) {
	b.exec(`DROP INDEX contacts_last_name_pattern, contacts_email_trgm, contacts_created_btree`)

	// Each rewrite writer has its own existing contacts, so that the
	// tokens it deletes are still those loaded.
	perm := rand.New(rand.NewPCG(seed, 2)).Perm(len(b.contacts))
	nextRewrite := func() []*contact {
		ids := perm[:rewriteRows]
		perm = perm[rewriteRows:]
		cs := make([]*contact, len(ids))
		for i, id := range ids {
			cs[i] = &b.contacts[id]
		}
		return cs
	}
	nextInsert := func() []contact {
		cs := fresh[:writeRows]
		fresh = fresh[writeRows:]
		return cs
	}
	// The new addresses of the rewritten contacts, with their tokens (only
	// the values: the ids are the rewritten contacts').
	newEmails := fresh[:rewriteRows]

	b.interleave(
		insertPlain(nextInsert()),
		insertSide(nextInsert(), "(PK + (id))"),
		insertSideGrouped(nextInsert()),
		insertArrays(nextInsert()),
	)
	b.interleave(
		rewritePlain(nextRewrite(), newEmails),
		rewriteSideByID(nextRewrite(), newEmails),
		rewriteArrays(nextRewrite(), newEmails),
	)
	for _, idx := range tokenIndexes {
		b.exec(`DROP INDEX contacts_` + idx.name + `_id`)
	}
	b.interleave(
		insertPlain(nextInsert()),
		insertSide(nextInsert(), "(PK only)"),
	)
	b.interleave(
		rewritePlain(nextRewrite(), newEmails),
		rewriteSideByToken(nextRewrite(), newEmails),
	)
}

const insertContact = `INSERT INTO contacts (id, last_name, email, created) VALUES ($1, $2, $3, $4)`

// insertPlain inserts the plain row alone.
func insertPlain(cs []contact) writer {
	return writer{"insert", plaintext + " row alone", len(cs), eachRow(func(batch *pgx.Batch, i int) {
		c := &cs[i]
		batch.Queue(insertContact, c.id, c.lastName, c.email, c.created())
	})}
}

// insertSide inserts the row and its tokens into the side tables, one
// statement per index.
func insertSide(cs []contact, indexes string) writer {
	return writer{"insert", sideTables + " " + indexes, len(cs), eachRow(func(batch *pgx.Batch, i int) {
		c := &cs[i]
		batch.Queue(insertContact, c.id, c.lastName, c.email, c.created())
		for _, idx := range tokenIndexes {
			batch.Queue(insertTokens(idx.name), c.id, idx.tokens(c))
		}
	})}
}

// insertSideGrouped inserts each row, and the tokens of all the
// transaction's rows in one statement per index: what the library could
// do when it writes many rows at once.
func insertSideGrouped(cs []contact) writer {
	return writer{"insert", sideTables + " (PK + (id)), one token statement per index and transaction", len(cs),
		func(batch *pgx.Batch, from, to int) {
			for i := from; i < to; i++ {
				c := &cs[i]
				batch.Queue(insertContact, c.id, c.lastName, c.email, c.created())
			}
			for _, idx := range tokenIndexes {
				var ids, tokens []int64
				for i := from; i < to; i++ {
					for _, token := range idx.tokens(&cs[i]) {
						ids = append(ids, cs[i].id)
						tokens = append(tokens, token)
					}
				}
				batch.Queue(`INSERT INTO contacts_`+idx.name+` (id, token) SELECT * FROM unnest($1::bigint[], $2::bigint[])`, ids, tokens)
			}
		}}
}

// insertArrays inserts the row with its three token arrays.
func insertArrays(cs []contact) writer {
	return writer{"insert", arrayColumns, len(cs), eachRow(func(batch *pgx.Batch, i int) {
		c := &cs[i]
		batch.Queue(`INSERT INTO contacts_arrays (id, last_name, email, created, prefix_tokens, email_tokens, created_tokens)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			c.id, c.lastName, c.email, c.created(), c.prefixTokens, c.emailTokens, c.dayTokens)
	})}
}

const updateEmail = `UPDATE contacts SET email = $2 WHERE id = $1`

// rewritePlain sets a new address in the plain row alone.
func rewritePlain(cs []*contact, emails []contact) writer {
	return writer{"rewrite e-mail", plaintext + " row alone", len(cs), eachRow(func(batch *pgx.Batch, i int) {
		batch.Queue(updateEmail, cs[i].id, emails[i].email)
	})}
}

// rewriteSideByID sets a new address and replaces the address's tokens,
// deleting the old ones by id.
func rewriteSideByID(cs []*contact, emails []contact) writer {
	return writer{"rewrite e-mail", sideTables + " (PK + (id)), delete by id", len(cs), eachRow(func(batch *pgx.Batch, i int) {
		id, e := cs[i].id, &emails[i]
		batch.Queue(updateEmail, id, e.email)
		batch.Queue(`DELETE FROM contacts_email WHERE id = $1`, id)
		batch.Queue(insertTokens("email"), id, e.emailTokens)
	})}
}

// rewriteSideByToken sets a new address and replaces the address's
// tokens, deleting the old ones by (token, id): the library computes them
// from the old address it decrypts.
func rewriteSideByToken(cs []*contact, emails []contact) writer {
	return writer{"rewrite e-mail", sideTables + " (PK only), delete by old tokens", len(cs), eachRow(func(batch *pgx.Batch, i int) {
		id, e := cs[i].id, &emails[i]
		batch.Queue(updateEmail, id, e.email)
		batch.Queue(`DELETE FROM contacts_email WHERE token = ANY($2) AND id = $1`, id, cs[i].emailTokens)
		batch.Queue(insertTokens("email"), id, e.emailTokens)
	})}
}

// rewriteArrays sets a new address and its token array.
func rewriteArrays(cs []*contact, emails []contact) writer {
	return writer{"rewrite e-mail", arrayColumns, len(cs), eachRow(func(batch *pgx.Batch, i int) {
		batch.Queue(`UPDATE contacts_arrays SET email = $2, email_tokens = $3 WHERE id = $1`,
			cs[i].id, emails[i].email, emails[i].emailTokens)
	})}
}

// interleave runs the writers, the first of which writes the plain row
// alone, in turns of turnRows rows each, in transactions of txRows rows
// sent in one round trip, and records each one's time per row beside the
// first one's.
func (b *bench) interleave(ws ...writer) {
	conn, err := b.pool.Acquire(b.ctx)
	if err != nil {
		b.t.Fatalf("acquire: %v", err)
	}
	defer conn.Release()
	took := make([]time.Duration, len(ws))
	for turn := 0; turn*turnRows < ws[0].rows; turn++ {
		for k := range ws {
			w := (turn + k) % len(ws)
			start := time.Now()
			for first := turn * turnRows; first < (turn+1)*turnRows; first += txRows {
				batch := &pgx.Batch{}
				ws[w].queue(batch, first, first+txRows)
				err := pgx.BeginFunc(b.ctx, conn, func(tx pgx.Tx) error { return tx.SendBatch(b.ctx, batch).Close() })
				if err != nil {
					b.t.Fatalf("%s, %s: %v", ws[w].operation, ws[w].layout, err)
				}
			}
			took[w] += time.Since(start)
		}
	}
	plain := took[0] / time.Duration(ws[0].rows)
	for w, wr := range ws {
		r := writeResult{operation: wr.operation, layout: wr.layout, perRow: took[w] / time.Duration(wr.rows), plainRow: plain}
		b.writes = append(b.writes, r)
		b.t.Logf("write: %s, %s: %v per row (plain row %v)", r.operation, r.layout, r.perRow, r.plainRow)
	}
}
