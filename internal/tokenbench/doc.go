// Package tokenbench is the record of one storage decision: where the
// tokens of fieldcrypt's searchable indexes are kept in PostgreSQL. It has
// no code of its own, only a measurement in its tests, and RESULTS.md with
// the figures and the decision they led to.
//
// A token index turns a value into a set of int64 tokens (the first 8 bytes
// of HMAC-SHA-256 under a subkey of the index); a query is a set of tokens
// too, and a row is a candidate when it holds any of them (prefix, range
// and set indexes) or all of them (substring indexes, where a value with
// too many trigrams holds a single overflow token that every query
// matches). The two layouts measured are
//
//   - side tables, one per index: contacts_<index>(id, token) with the
//     primary key (token, id), and optionally an index on (id), queried with
//     id IN (SELECT id ... WHERE token = ANY($1)), and GROUP BY id HAVING
//     count(*) = n where all tokens must match;
//   - a bigint[] column per index on the main table with a GIN index,
//     queried with && (any) and @> (all).
//
// Both are compared with the same queries on plaintext columns with the
// indexes an application without encryption would use (a text_pattern_ops
// btree, a pg_trgm GIN index, a date btree): the figure that matters is the
// ratio against that baseline. The tokenizer is written inline here; only
// the storage is being measured.
//
// # Running it
//
// TestTokenStorage loads a million generated contacts and takes about
// twenty minutes on two cores, so it runs only on demand: it skips
// unless FIELDCRYPT_TOKENBENCH=1 is set, and `make test` and
// `go test ./...` never run it. It needs the PostgreSQL server of the test
// services (see internal/testenv) and works in a schema of its own that is
// dropped, with every table in it, when it ends:
//
//	FIELDCRYPT_TOKENBENCH=1 go test -run TestTokenStorage -v -count=1 -timeout 60m ./internal/tokenbench/
//
// It prints the tables that RESULTS.md reproduces. TestDyadicCover, which
// checks the range tokenizer's cover, is quick and always runs.
//
// # The library end to end
//
// TestLibrarySearch measures what the decision led to, with the library
// itself and no tokenizer of its own: a million contacts of the same
// generator, encrypted and copied with their tokens by sqlcrypt.CopyFrom
// into the side tables that sqlcrypt.TokenTableDDL creates, searched with
// sqlcrypt.Search, a pgx query and sqlcrypt.CollectRows (which decrypts
// every candidate and drops the false positives). Each query is compared,
// in the same run, with decrypting every row of the tenant and filtering
// in Go, and with the same query on a plaintext copy of the columns; then
// the cost of writing a row, and the storage per row, of each index type
// alone against a row with one equality blind index. It is gated and run
// the same way, in about fifteen minutes:
//
//	FIELDCRYPT_TOKENBENCH=1 go test -run TestLibrarySearch -v -count=1 -timeout 40m ./internal/tokenbench/
//
// FIELDCRYPT_TOKENBENCH_ROWS=20000 makes a smaller run to try it out.
package tokenbench
