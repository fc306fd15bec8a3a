// Package reencrypt moves the encrypted columns of SQL tables to the
// current primary keys after a key rotation, and reports which keys the
// stored values depend on. It is the library behind `fieldcrypt
// reencrypt`, `fieldcrypt verify` and `fieldcrypt status`, and runs on
// PostgreSQL, SQLite and MariaDB/MySQL through database/sql.
//
//	cfg, err := reencrypt.LoadConfig("fieldcrypt-tables.yaml")
//	table, _ := cfg.Table("contacts")
//	sum, err := reencrypt.Run(ctx, db, reencrypt.Postgres, enc, table, &reencrypt.Options{Concurrency: 4})
//	// sum.Outcome is Done, Partial or Failed; sum serialises to JSON.
//	rep, err := reencrypt.Status(ctx, db, reencrypt.Postgres, table)
//
// # Configuration
//
// A YAML file lists the tables. Each names everything a [crypt.SchemaSpec]
// needs, and must agree with the struct tags the application encrypts with
// (the same record type, identity names, field names and index names):
//
//	tables:
//	  - name: crm.contacts          # optionally schema- (or database-) qualified
//	    primary_key: id             # one column; the job pages by it
//	    key_type: integer           # integer (default) or text
//	    record: contact             # the record type bound into associated data
//	    scope: tenant_id            # the scope (tenant) column, text or integer (the scope in decimal); omit for "default"
//	    ids:                        # identity columns bound into associated data
//	      - {column: id, name: ID}  # name: the Go field name or its name= option
//	    encrypted:
//	      - {column: name,  name: Name,  class: pii}
//	      - {column: email, name: Email, class: pii}
//	      - {column: notes, name: Notes, class: support, binary: true}  # BYTEA/BLOB
//	    indexes:
//	      - column: email_idx
//	        name: EmailIdx            # the index name in its key derivation
//	        sources: [email]
//	        transforms: lower+trim
//	        bits: 32                  # as the struct says: bits, or population (the planner's width)
//	        # population: 50000       # instead of bits, when the struct gives population=
//	        # slow: true              # the Argon2id tier
//	        # class: pii              # default: the first source's class
//	    # unbound: true             # no ids on purpose (the struct's unbound option):
//	                                # rows can then be swapped whole within a scope
//	    tokens:                     # token indexes (crypt.TokenIndexSpec), by name
//	      - {name: NamePrefix, kind: prefix, sources: [name], transforms: lower, bits: 12, min_len: 3, max_len: 8}
//	    # token_tables: {NamePrefix: crm.contact_name_tokens}  # a side table
//	                                # other than the conventional one
//	    # rebuild_indexes: [email_idx]  # indexes the application changed (width,
//	                                # transforms, name) or just added: the job
//	                                # rewrites them from the sources (blind-index
//	                                # columns, or token indexes by name)
//
// Print this description with `fieldcrypt schema` (or [TableOf]) rather
// than write it by hand.
//
// Token indexes are not columns: their tokens live in one side table per
// index, by default <table>_<snake_case of the index's Go field name>
// ([Table.TokenTable]: "contacts_name_prefix" for NamePrefix of table
// crm.contacts, in schema crm), or the table its token_tables entry names
// (needed when the index's name= option is not its Go field name). A side
// table has the columns (<primary key>, token BIGINT NOT NULL), PRIMARY
// KEY (token, <primary key>), an index on (<primary key>), and a foreign
// key to the table ON DELETE CASCADE: one row per token of each row.
// CheckColumns checks that it exists with those two columns.
//
// Unknown keys are errors. [ConfigError] names the table and column at
// fault. Omitted names default to the column name, classes to "default".
// The primary key must be a single integer or text column; composite keys
// are not supported (add a unique surrogate key). CheckColumns, which Run,
// Verify, Status and IndexStatus call first, refuses a key that no PRIMARY
// KEY or single-column UNIQUE index holds (a view's rows are searched for
// a repeated key instead) and a key column holding a NULL
// ([ErrKeyNotUnique]): paging by it would skip rows and still report done.
// Identifiers are quoted for the dialect and values are only ever passed
// as parameters.
//
// # The drift check
//
// A configuration is copied by hand and can drift from the struct tags the
// application encrypts with. Before it touches the job tables or reads the
// table for real, Run (dry runs included) and Verify sample the table and
// refuse a configuration that disagrees with the stored values, with a
// [*DriftError] (matching [ErrConfigDrift]) per drifting column: it names
// the table, the column, its line and column in the YAML, what disagrees,
// and in how many sampled rows, and never a value. [CheckDrift] makes the
// same check for other callers (the command-line tool runs it before
// status and before the evidence of a key destroy, which a misspelt class
// would blind).
//
// The sample is up to 64 rows: 16 at each end of the key order and 16
// after the points a third and two thirds of the way (integer keys find
// them from MIN and MAX, text keys with OFFSET). The ends matter: the
// first rows are often the oldest and the last the newest, and a resumed
// job has rewritten the first rows itself, from the configuration.
//
//   - Class: an encrypted value's key ID must be a key (enabled, disabled
//     or destroyed) of the data keyset of its row's scope and its column's
//     configured class. A missing keyset, or one that does not know the
//     key ID, counts against the configuration. The check only reads
//     keysets (the keyring's Existing* lookups): it never creates one.
//   - Blind indexes: a stored index value must equal its recomputation
//     from the decrypted sources under some enabled index key (a row not
//     yet moved to a new index key agrees), and be of the configured width,
//     which the stored value shows by its length and by the bits past the
//     width that truncation clears.
//   - No evidence: empty values and empty index values, legacy plaintext,
//     rows of a shredded scope or without a scope, rows whose sources do
//     not decrypt, classes this keyring has no KEK for.
//
// A column is refused when the sampled values against its configuration
// outnumber those for it (in particular when none agrees). Fewer are what
// damaged rows, or rows under an index key disabled before the job
// finished, look like: they are logged as a warning and the job fails
// those rows one by one ("index_mismatch", "key_not_found") without
// writing them. There is no option to skip the check: fix the
// configuration.
//
// # Algorithm
//
// Paging. The table is walked in primary-key order, one batch at a time
// (WHERE key > last ORDER BY key LIMIT n), so every batch is an index range
// scan and memory stays flat however large the table is.
//
// Deciding. Each encrypted value carries its key ID in clear
// (crypt.InspectText, crypt.InspectBinary). A row is rewritten only when a
// value is not under the current primary key of its (scope, class) data
// keyset, when it holds legacy plaintext (with Options.Migrate), or when a
// blind index was computed under an older index key. Blind indexes carry
// no key ID, so they are checked, from decrypted sources, only while
// their index keyset has several enabled keys (an index-key rotation is
// under way): a stored index equal to the primary key's value is current;
// equal to an older enabled key's value, stale; equal to none, the row
// fails with "index_mismatch" and is left alone (the configuration
// disagrees with the application, or the row is damaged), so a wrong
// configuration cannot overwrite indexes. Keep the old index key enabled
// until the job has finished. An empty index is computed. Current rows
// cost a read and no crypto: running the job twice rewrites nothing the
// second time.
//
// Token indexes. A token index's tokens do not record their key either,
// and they are not in the row: they are checked, as a set, under the
// same conditions (an index-key rotation of their class, verify, or
// rebuild_indexes). A row whose legacy plaintext is encrypted
// (Options.Migrate) gets the tokens its side tables lack in the
// transaction of its encryption, as its empty blind indexes are computed;
// tokens it already holds are left as they are, outside an index-key
// rotation. The side tables of a row the job finds current are not read:
// tokens missing from such a row (which Verify counts as not current) are
// computed by a run that lists the index in rebuild_indexes. The job
// reads the side tables once per batch, for every row of the batch at
// once, and only when a row of the batch needs them:
//
//	SELECT key, token FROM side WHERE key IN ($1, ..., $n) ORDER BY key, token
//
// (at most 500 keys a statement). A row's stored set equal to the set
// EncryptRow computes under the primary index key is current (rows whose
// sources give no token are current with none); an empty set where the
// sources give some is computed; a set equal to the one under an older
// enabled key is stale; one equal to none fails the row with
// "token_mismatch" and is never overwritten. (Tokens under the older keys
// are computed from the decrypted sources by this package, following
// crypt's settlement of the TokenIndexSpec; every computation under the
// primary key is checked against EncryptRow's, and a disagreement stops
// the run with a *ConfigError rather than judge rows by it.) A data-key
// rotation alone leaves the side tables alone: tokens depend only on the
// plaintext and the index key.
//
// Rewriting. A stale row is decrypted (crypt.Encryptor.DecryptRow) and
// re-encrypted (EncryptRow), producing exactly the values the application's
// struct would get. Columns already current keep their stored value. A row
// whose tokens are stale has them replaced in the transaction of its
// compare-and-swap, after it:
//
//	DELETE FROM side WHERE key = $1
//	INSERT INTO side (key, token) VALUES ($1, $2), ($1, $3), ...
//
// so that a crash never leaves a row's tokens under another index key than
// its blind indexes, and a resumed or repeated job finds them current.
//
// Compare-and-swap. Each row is written with
//
//	UPDATE t SET cols... WHERE key = $1 AND col1 IS NOT DISTINCT FROM $old1 AND ...
//
// comparing every column read (null-safe: IS NOT DISTINCT FROM on
// PostgreSQL, <=> on binary casts on MySQL, IS ... COLLATE BINARY on
// SQLite). When a concurrent application write changed the row in between,
// the UPDATE matches nothing; the row is then read again under a row lock
// (with its tokens, in the same transaction) and handled once more
// (usually it is already current, since the application wrote it under
// the new key). Summary.Conflicts counts these. An application write is
// never overwritten. A row whose columns stay as they are (only its tokens
// change) is not updated but read under a lock with the same comparison
// (SELECT key ... WHERE key = $1 AND col1 IS NOT DISTINCT FROM $old1 ...
// FOR UPDATE), which MySQL, counting only changed rows, requires. This
// assumes the application writes a row and its tokens in one transaction.
//
// Checkpoints and ranges. A job (Options.Job, default the table's name) is
// planned once into key ranges of about Options.RangeSize rows, kept in the
// table fieldcrypt_job_ranges (with fieldcrypt_jobs, created when
// missing). Each range records its last committed key. A batch's row
// writes and its range's checkpoint commit in one transaction, so a run
// killed at any instant (SIGKILL included) resumes exactly after its last
// committed batch: nothing is lost and nothing is processed twice.
//
// Leases and workers. Workers, goroutines of one process
// (Options.Concurrency) or processes on several machines running the same
// job, claim ranges with SELECT ... FOR UPDATE SKIP LOCKED (PostgreSQL,
// MariaDB 10.6+, MySQL 8) and hold them under a lease (Options.Lease)
// measured by the database's clock and renewed by every committed batch.
// A worker that dies stops renewing; once the lease expires another worker
// takes the range over from its checkpoint. Every batch re-checks its claim
// in its own transaction (a fencing token), so a worker that lost its
// lease cannot commit. A worker that finds nothing left to claim waits
// until the job is complete, taking over ranges whose worker died; it logs
// (once per other worker) whom it waits for, until when, and why: at warn
// level when that worker has committed nothing for more than half the
// Lease (it may have died), at info level otherwise (it is working). After a kill -9, a resumed run thus waits at most one Lease for
// the dead worker's ranges, unless it is given the dead worker's name
// (Options.Worker), which takes them over at once. SQLite jobs run one
// worker. The database is the coordinator: there is no other cluster
// protocol.
//
// A job that is complete stays complete: a run under its name does
// nothing and says so (Summary.AlreadyComplete, with JobFinished). After
// another rotation, a new pass needs Options.Restart or a new job name.
//
// Fingerprint. A job keeps the [Table.Fingerprint] of the description it
// started with (column table_sha256 of fieldcrypt_jobs, added to job
// tables created by earlier versions when a job next runs). A job that has
// not finished, run with a description of another fingerprint, is refused
// with [ErrJobChanged]: the rows it rewrote follow the old description.
// Finish it with that description, or restart it (Options.Restart) for a
// new pass under the new one. A job recorded before fingerprints were kept
// adopts the current one.
//
// Errors. Before anything else, Run, Verify and Status check that the
// table and every configured column exist ([CheckColumns]; Run and Verify
// then make the drift check above): a missing one
// is a *ConfigError wrapping [ErrMissingColumn]; a table or column this
// database role may not read is an error wrapping [ErrPrivilegeRefused],
// not a missing one. A batch that fails on a transient database or KEK
// error is retried (Options.Retries); a permanent one (an undefined column
// or table, a syntax or privilege error, a value the column cannot hold)
// is not. Errors are told apart only through the drivers' own types:
// PostgreSQL by SQLSTATE (classes 42, 22 and 0A), MySQL and MariaDB by
// error number (*mysql.MySQLError: 1054, 1146, 1064, 1142, ...; never by
// SQLSTATE 42000 alone, which also covers connection limits), SQLite by
// modernc.org/sqlite's *sqlite.Error ("no such column" and kin). Any other
// error is transient, whatever its text. A keyset that the configured KEK refuses or
// cannot open, or that is not trusted (a KEK not configured for its class,
// a failed integrity check, a rollback), stops the run at once with a
// [KEKError]: every row under it would fail the same way.
//
// Operation. Options.Rate limits rows per second; DryRun counts what would
// change and writes nothing (not even the job tables); [Verify] checks
// every row (every value decrypts and is under its primary key, every
// index equals its recomputation); Options.Progress receives progress
// (rows done, estimate, rate, ETA) and Options.Logger structured events.
//
// # Guarantees
//
//   - A row is written only whole: all its values decrypted and
//     re-encrypted, or none. A row that cannot be decrypted (malformed,
//     tampered with, under a destroyed or disabled key, of a shredded
//     scope, of a class for which this process's keyring has no KEK at
//     all) is left exactly as it was, counted in Summary.Failed by reason
//     and named by primary key.
//   - Values are never encrypted twice, and plaintext is never written
//     back as if it were ciphertext: legacy plaintext is read only with
//     Options.Migrate.
//   - Concurrent application writes are never lost (compare-and-swap).
//   - Resumption after a crash neither skips nor repeats a committed batch.
//   - No plaintext or key material appears in errors, logs or the Summary;
//     rows are named by primary key.
//
// The job's keyring must be able to unwrap every class of the table, and
// should run with keyring.Config.DisableAutoCreate. Start the job only
// once the promotion of the new key has reached this process (a new
// process, or after the keyring's CacheTTL): values are moved to the
// primary key this process sees.
//
// # Outcomes
//
// [Summary.Outcome] is [Done] (the job is complete with nothing left
// behind; for Verify and dry runs, nothing is stale), [Partial] (stopped
// before the end by its context, or rows were left behind: run again, or
// look at Failures) or [Failed] (a database or KEK error that outlived
// Options.Retries, or a bad configuration; progress is kept). Run and
// Verify return a non-nil error exactly when the outcome is Failed. A
// command-line tool would exit 0, 2 and 1 respectively.
//
// # Status
//
// [Status] counts, per encrypted column, the values under each (scope, key
// ID) and the legacy, empty and malformed ones, without decrypting anything
// or needing a key. [KeyUsage] sums those counts over tables for one data
// key: the evidence that must be zero before a key is destroyed. Blind
// index values do not record their key; [IndexStatus] recomputes them from
// their decrypted sources and counts, per scope and index column of a
// class, those under the primary index key, an older enabled key, or none:
// the evidence for an index key. It counts the rows of each token index
// the same way (IndexReport.Tokens).
//
// # Leakage
//
// [Leakage] measures, with no key at all, what the blind-index columns and
// the token side tables show to someone who reads the database: per index
// and scope, the rows, the distinct values or tokens, the largest bucket's
// share, the most common shares, the tokens per row, the planner's verdict,
// and a coarser setting where one value dominates. It is `fieldcrypt
// leakage`; its doc gives the rules.
package reencrypt
