// Package gormcrypt is fieldcrypt's GORM integration: once registered on a
// *gorm.DB, models tagged for package crypt are encrypted on every write
// and decrypted on every read, and their blind-index columns are filled,
// with no call to Encrypt or Decrypt in application code.
//
// # Registering
//
// A service registers the plugin once, with the Encryptor of its keyring
// and its tagged models:
//
//	db, err := gorm.Open(postgres.Open(dsn), &gorm.Config{})
//	err = db.Use(gormcrypt.New(crypt.New(kr, nil), &Contact{}, &Interaction{}))
//
// The models given to New are parsed when the plugin is registered (a
// model without crypt tags, or with invalid ones, fails db.Use), and their
// tables are protected from the first statement against writes that have
// no tagged model to encrypt (see Raw SQL below). A tagged model that is
// neither registered nor used yet is unknown to the plugin: register them
// all.
//
// Sessions and transactions derived from db share the registration. Every
// call uses the statement's context (db.WithContext), for the keyring too.
// Models are described by their crypt tags alone (see package crypt):
// columns are found through GORM's own schema, so custom column names,
// embedded structs (gorm:"embedded;embeddedPrefix:...") and naming
// strategies work. A GORM serializer or a default value on an encrypted or
// blind-index column would give it a second meaning (the serializer would
// encode the ciphertext; the database would store the default in plaintext
// for an empty field): the model is refused with [ErrUnsupportedModel],
// naming the column.
//
// # Writes
//
// Create, CreateInBatches and Save of new rows encrypt a copy of each record
// (crypt.EncryptedCopy) and write that. The caller's struct keeps its
// plaintext; it receives what the INSERT assigned (timestamps, defaults) and
// the blind-index values, and after a failed write it is as it was.
// Associations that are records of their own (a field whose type declares
// record=) are saved by GORM through statements of their own, which the
// plugin encrypts under their own binding. Declare them as pointers or
// slices (*Company, []Interaction): GORM leaves an association held by
// value zero when it is not loaded, and a zero record has no scope, so
// such a model is refused with [ErrUnsupportedModel].
//
// Save of an existing row, Updates (struct or map), Update, UpdateColumn,
// UpdateColumns and the update of FirstOrCreate with Assign encrypt the
// values they write to encrypted columns, bound to the identity and scope
// of the model they are called on (db.Model(&record)), recompute the blind
// indexes whose sources they write, and restrict the UPDATE to the row with
// that identity and scope, whatever conditions of its own the statement
// has (Where(a).Or(b) included), compared byte for byte: where the
// database compares two spellings equal (MySQL's and MariaDB's usual
// collations, which ignore case and trailing spaces; a PostgreSQL uuid,
// citext or nondeterministic collation; SQLite's COLLATE NOCASE), a model
// naming "C-1" or "ACME" updates no row "c-1" of "acme" (its ciphertexts
// would bind a spelling the row does not hold). A source of a blind index may be a plaintext
// column (blind=Region) or mix encrypted and plaintext columns
// (blind=Email+Country): it is treated as an encrypted source in every
// rule below. Map keys may be column names or Go field names.
// The model receives the new plaintext values and index values, as GORM
// always writes an update's values into its model. Where GORM passes a
// column name into the SQL as written (a map key it does not resolve, an
// ON CONFLICT or SET assignment), an encrypted, blind-index, scope or
// identity column, or a source of a blind or token index, named any other
// way than by its column name (qualified, quoted, in another case) is
// refused, as the database could read it as that column. Refused, with an
// [*Error] that names the column, and with nothing written:
//
//   - a write to an encrypted column or to a source of a blind index when
//     the statement's model is not one record with its identity and scope
//     set (db.Model(&Contact{}).Where(...), a slice of models, db.Table
//     without a model);
//   - an SQL expression (gorm.Expr, a subquery) as the value of an
//     encrypted column or of a blind index's source, and a SET clause given
//     by hand that sets either;
//   - a write to a blind-index column, and a write to some but not all of
//     the sources of a compound index;
//   - a change of the scope or of an identity field of a record with
//     encrypted columns: its ciphertexts would stay bound to the old values;
//     and a write of either through a model that names no record (an
//     association's Delete, Clear or Replace, which set a foreign key that
//     is an identity field to NULL);
//   - a Create from a map that sets an encrypted or blind-index column, or
//     a source of a blind index;
//   - a Create whose Select or Omit writes a blind index's source but not
//     the index, or the index but not all of its sources (a search would
//     miss the row), or encrypted columns but not the scope or an identity
//     field they are bound to;
//   - a RETURNING clause on an Update or Delete of a model with encrypted
//     columns, which would scan ciphertexts into the model.
//
// An upsert (clause.OnConflict) that updates encrypted or blind-index
// columns must have a conflict target that holds the record's identity
// fields, such as the identity alone or the scope and the identity (given
// as Columns, or the primary key GORM fills in for UpdateAll; not a named
// constraint, and not omitted, as SQLite then fires on any unique key). It
// must set those columns, and the sources of blind indexes, only to the
// inserted row's values (clause.AssignmentColumns or UpdateAll), update the scope too unless the
// target holds it (and then every encrypted column), and update a blind
// index along with every one of its sources not in the conflict target.
// Otherwise the row updated on conflict could be another record, bound to
// an identity its new ciphertexts do not name, or keep values its index
// does not describe, and the upsert is refused. An upsert that updates a
// source of a blind index, encrypted or not, but not the index is refused
// on every database. MySQL and MariaDB ignore the conflict target:
// ON DUPLICATE KEY UPDATE fires on any unique key. There the plugin reads
// the table's unique keys (the primary key included) from the database's
// catalogue, once per table and process, and refuses such an upsert (Save
// of a new row and Save of a slice are upserts) unless every unique key
// holds the record's identity. A unique key added to the table while the
// process runs is not seen until it restarts.
//
// An upsert never moves a row to another scope or identity, nor writes
// another tenant's row. Save of an existing record whose UPDATE matches no
// row falls back, in GORM, to an upsert on the primary key; an association
// write (Append, Replace, a nested Create, Save of a record with its loaded
// associations) saves the held records as an upsert that sets their
// foreign key on conflict. When a model has encrypted or blind-index
// columns and the conflict target does not hold its scope and every
// identity field, then on PostgreSQL and SQLite the plugin adds to the DO
// UPDATE a WHERE that keeps it to the row whose scope and identity are the
// new row's (WHERE table.tenant_id = excluded.tenant_id AND ..., after
// the upsert's own condition in parentheses), byte for byte (for a string
// scope or identity column, a comparison of the bytes with the record's
// value: a uuid, citext or NOCASE conflict target takes "NOTE-1" for the
// row "note-1", and GORM's Save falls back to such an upsert when its
// UPDATE, compared exactly, matches no row): a
// conflicting row of another tenant or record is left as it was, and the
// write fails with [ErrUnsupportedWrite] (and is rolled back with its
// transaction) when a record was not written, rather than report a write
// that did not happen (an upsert with a WHERE of its own that leaves a
// record unwritten then fails too, as the two cannot be told apart). On
// MySQL and MariaDB, whose ON DUPLICATE KEY UPDATE takes no WHERE, an
// upsert that updates an encrypted, blind-index, scope or identity column
// is refused unless every unique key of the table holds the scope and the
// identity fields, and those of them that are strings compare byte for
// byte (a binary type, or a binary collation that does not pad, such as
// MariaDB's utf8mb4_nopad_bin or MySQL's utf8mb4_0900_bin: the default
// collations ignore case and trailing spaces, and the usual *_bin ones
// trailing spaces). There, Save of a new row and
// Save of a slice of a model whose primary key is its ID alone are
// refused: create new rows with Create, change them with Save or Updates.
// A nested Create or an association write whose foreign key is an
// identity field (crypt:"id") is refused likewise: create the held
// records with their own Create. An upsert there that updates only
// plaintext columns is not restricted to the new row's scope.
//
// # Reads
//
// First, Take, Last, Find, FirstOrInit, FirstOrCreate and Raw(...).Find
// decrypt what they scanned, including records that Joins filled into the
// result (decrypted as held records, under their own binding). Preload
// loads associations with queries of their own, which are decrypted in
// turn. Where the holder and the held record both have a scope field, a
// held record of another scope (a foreign key repointed by a database
// writer at another tenant's row) fails the query with
// crypt.ErrScopeMismatch, for Joins and Preload alike, and the query
// returns no record (tag the field crypt:"anyscope" to hold other
// tenants' records on purpose). GORM's association mode
// (Association("X").Find) is not checked: it queries the held model by
// the foreign key alone, without the holder; add the tenant condition
// (db.Model(&c).Where("tenant_id = ?", t).Association("X").Find(&out)).
// Many-to-many associations of models with crypt tags work: the struct GORM
// builds for the join table copies the keys' crypt:"id" tags but is no
// record (it holds keys only), and a join row repointed at another
// tenant's record is refused on Preload like a foreign key. A value moved from another row, field or tenant fails with
// crypt.ErrDecrypt (or crypt.ErrKeyNotFound when its key belongs to another
// tenant), reported as the query's error. A process without access to a
// field's class gets crypt.ErrNoAccess, with its other fields decrypted.
// A read of several records reports every record that did not decrypt
// whole, by its position in the result ([RecordErrors]); the others are
// decrypted. A preloaded association's failure is not a RecordErrors (its
// positions would be the association query's).
//
// A Create or an update whose values hold, behind an interface (an any
// field serialized as JSON, a map of columns), a struct with crypt tags is
// refused with crypt.ErrHiddenTagged, for every model and table: nothing
// would encrypt it. GORM's Scan (and Row, Rows, ScanRows,
// Pluck into strings) runs no query callbacks and returns stored values:
// use [Scan], which scans and decrypts, or Find. Find into maps, or into
// a struct type without crypt tags, decrypts nothing either: it returns the
// stored ciphertexts as they are, never as if they were plaintext. A struct
// type with crypt tags other than the model's is decrypted under its own
// record name, so its values decrypt only if it names the same record.
//
// A condition GORM builds from a struct, a map or a clause that compares
// an encrypted column with a value (db.Where(&Contact{Email: e}),
// db.First(&c, map[string]any{"email": e}), db.Where(&record) with the
// record's plaintext, clause.Eq) would match nothing, as the column holds
// ciphertexts, and would send the plaintext to the database: queries,
// Count, Pluck, Rows, updates and deletes with one are refused with an
// [*Error] matching [ErrEncryptedCondition], before any SQL is sent, also
// through db.Table(name) without the model when the table is a known
// tagged model's (see Raw SQL below). A column is known by its name
// alone, whatever table or alias qualifies it: in a join, a condition on
// another table's column that has an encrypted column's name
// (map[string]any{"stages.name": "Lead"}) is refused too, rather than
// risk letting through one on the model's own column under an alias;
// write such a condition as SQL text (db.Where("stages.name = ?", "Lead")). NULL
// and empty values, stored as they are, may be compared. Conditions
// written as SQL text (db.Where("email = ?", e)) are not parsed, and not
// seen.
//
// # Search
//
// [Matching] is a scope that finds records by a blind index:
//
//	var out []Contact
//	err := db.Scopes(gormcrypt.Matching(&Contact{TenantID: t, Email: e}, "EmailIdx")).Find(&out).Error
//
// It queries the index's values under every enabled index key and the
// probe's scope, and drops the rows a blind index finds that hold another
// value after decrypting them (crypt.Matches), and every row of another
// scope than the probe's, which a condition ORed into the query
// (db.Where(a).Or(b) before the scope) could bring. A row the search
// reads that does not decrypt in full (crypt.ErrNoAccess for a class the
// process cannot read, crypt.ErrDecrypt) cannot be confirmed as a match:
// the search fails with that error and leaves the destination slice
// empty, rather than return rows it could not filter. Several Matching
// scopes on one query combine: a row is returned only when it matches
// every one of them (searches of different record types in one query are
// refused with [ErrUnsupportedSearch]). A search with a LIMIT or
// OFFSET (First, Take, Last), with a GROUP BY, HAVING or DISTINCT, with a
// Select or Omit that leaves out the
// index's sources or the scope, into anything but a slice, or in Count,
// Pluck, Rows, Scan, Update or Delete would return, count or change those
// rows, or miss a match: it is refused with [ErrUnsupportedSearch].
//
// # Token indexes
//
// A token index (a crypt.Tokens field tagged prefix=, suffix=,
// substring=, range= or set=; see package crypt) searches by prefix,
// suffix, substring, range or set membership. Its tokens are not a column:
// tag the field gorm:"-" (a model where GORM would read or write it is
// refused with [ErrUnsupportedModel], naming the field). Each index is
// stored in a side table of its own, <table>_<snake_case of the field's
// Go name> (key, token), which [MigrateTokens] creates after AutoMigrate,
// its key of the model's key column's type (a uuid key on PostgreSQL
// gives a uuid side-table key; write a uuid as PostgreSQL reads it back,
// lower case with hyphens, for it is bound into the row's ciphertexts: a
// Create of a scope or identity in another form, into a uuid column, is
// refused with ErrUnsupportedWrite naming the column, as the row would
// never decrypt):
//
//	type Contact struct {
//		_          struct{}     `crypt:"record=contact"`
//		ID         string       `gorm:"primaryKey" crypt:"id"`
//		TenantID   string       `crypt:"scope"`
//		LastName   string       `crypt:"encrypt,class=pii"`
//		NamePrefix crypt.Tokens `gorm:"-" crypt:"prefix=LastName,len=3..8,bits=20,transform=lower"`
//	}
//
//	err = db.AutoMigrate(&Contact{})
//	err = gormcrypt.MigrateTokens(db, &Contact{}) // contacts_name_prefix
//
//	var out []Contact
//	err = db.Scopes(gormcrypt.Search(&Contact{TenantID: t}, "NamePrefix", crypt.HasPrefix("lov"))).Find(&out).Error
//
// Create, CreateInBatches, Save and the updates above replace a record's
// tokens in its side tables after the statement that wrote its row, in
// GORM's transaction: a failure of either rolls both back. [Search] is a
// scope like Matching, with the same refusals, and drops the rows whose
// decrypted value does not satisfy the term. A side table's rows refer to
// the record's row by its identity column, with a foreign key that
// deletes them with the row (on SQLite, on connections with foreign keys
// on: _pragma=foreign_keys(1) in the DSN). The layout is package
// sqlcrypt's: records written through either package are found through
// both.
//
// Refused with [ErrUnsupportedModel]: a set index over the elements of an
// association (set=Addresses[].Email where Addresses is has-many: GORM
// writes those records in statements of their own, and the record's
// tokens would miss them; index the associated records' own fields
// instead); a model with token indexes and several identity fields (a
// composite key) or none; side tables
// refer to a row by one key column, and composite keys are not supported
// yet. Refused with [ErrUnsupportedWrite] or [ErrUnknownIdentity], with
// nothing written, as a write that would leave tokens that are not the
// row's:
//
//   - an update of some but not all of a token index's sources (a set
//     index over Home+Work rewritten from Home alone), or of a source
//     that is not a column of the model (a field of slice elements);
//   - an update of a source, even a plaintext one, through a model that
//     names no record (db.Model(&Contact{}).Where(...), db.Table);
//   - a Create from a map that sets a source, and a Create whose Select or
//     Omit leaves one out;
//   - an upsert whose update on conflict does not write every source of
//     every token index (the row would keep its value and get the new
//     record's tokens), and an upsert of several records that does
//     nothing on conflict (the records it left could not be told from
//     those it wrote; one record is written with its tokens only when
//     its row was);
//   - a write that runs in no transaction (SkipDefaultTransaction):
//     run it in db.Transaction.
//
// An update that matches no row writes no token.
//
// GORM's logger prints statements with their arguments filled in (errors,
// and queries slower than its threshold, by default): ciphertexts,
// blind-index values and the tokens of a search, which link it to the
// rows it finds. Give GORM a logger that leaves arguments out
// (logger.Config{ParameterizedQueries: true}) or logger.Discard, as
// examples/crm does. The statements the plugin sends to token side tables
// go to the application's logger without their arguments (record keys and
// tokens) whatever the logger's configuration, and their errors, in the
// log and in the [*Error] returned, withhold the values the database or
// the driver quote: MySQL's duplicate entry, PostgreSQL's detail, a
// driver's refusal to encode a token. So do the errors of the INSERT and
// UPDATE of an encrypted model, whose blind-index values a unique index
// would quote (a hook's error is left as the hook wrote it). errors.As
// finds a redacted copy of the driver's error (a *pgconn.PgError without
// its detail), and errors.Is what the original held
// (gorm.ErrDuplicatedKey). A plugin that traces GORM's callbacks
// itself, not through the logger, sees the arguments as GORM holds them;
// and an error at COMMIT (a deferred constraint) is GORM's or the
// application's, as it commits.
//
// # Keys the database assigns
//
// Every ciphertext binds its record's identity fields, and an
// auto-increment key is not known before the INSERT. Create refuses a
// record whose identity field is zero, with an [*Error] matching
// [ErrUnknownIdentity] that names the field: generate IDs in the
// application (UUIDs, ULIDs, a sequence read first), or set them in a
// BeforeCreate hook, which runs before the plugin encrypts. A record
// declared unbound (crypt:"record=R,unbound") binds no identity and is not
// refused.
//
// # Raw SQL
//
// Raw and Exec send SQL as written: the plugin cannot see which values go
// to encrypted columns, so Exec("UPDATE contacts SET email = ?", v) stores
// v as given. Write encrypted columns through models, or encrypt by hand
// (crypt.Encrypted, Encryptor.BlindIndexValues). Raw(...).Find(&records)
// is decrypted, as above; Raw(...).Scan through [Scan].
//
// A write with no tagged model to encrypt, that sets an encrypted or
// blind-index column of a known tagged model's table, or a source of one
// of its blind or token indexes (or its scope or identity, in an update),
// is refused with an [*Error] matching
// [ErrUnknownIdentity], with nothing written: db.Table(name) with a map or
// Update(column, value), under any spelling of the table (quoted, in
// another case, qualified, aliased, a clause.Table parameter), and a struct without crypt tags whose
// table is that model's. The known tables are those of the models given to
// New and of the tagged models the process has used since; writes to the
// tables of other tagged models are not seen.
//
// # Errors
//
// Refusals are [*Error] values naming the model, the column and the Go
// field, matching [ErrUnknownIdentity], [ErrUnsupportedWrite],
// [ErrUnsupportedModel], [ErrEncryptedCondition] or
// [ErrUnsupportedSearch]; crypt's errors (crypt.ErrDecrypt,
// crypt.ErrAlreadyEncrypted, crypt.ErrNoAccess, ...) come wrapped in an
// [*Error] and match with errors.Is. No error carries a plaintext value,
// key or token. A db without the plugin fails searches with
// [ErrNotRegistered].
package gormcrypt
