// Package crypt encrypts the sensitive fields of Go structs in place, binds
// every ciphertext to its record, field and tenant, and computes blind
// indexes so encrypted columns stay searchable by equality, and token
// indexes so they stay searchable by prefix, suffix, substring, range and
// set membership.
//
// A CRM service tags its record type, calls [Encryptor.Encrypt] before an
// INSERT or UPDATE and [Encryptor.Decrypt] after a SELECT:
//
//	type Contact struct {
//		_        struct{} `crypt:"record=contact"`
//		ID       string   `crypt:"id"`
//		TenantID string   `crypt:"scope"`
//		Name     string   `crypt:"encrypt,class=pii"`
//		Email    string   `crypt:"encrypt,class=pii"`
//		EmailIdx string   `crypt:"blind=Email,transform=lower+trim,bits=32"`
//		Phone    *string  `crypt:"encrypt,class=pii"`
//		Notes    []byte   `crypt:"encrypt,class=support"`
//	}
//
//	enc := crypt.New(kr, nil)             // kr is a *keyring.Keyring
//	err := enc.Encrypt(ctx, &contact)     // then INSERT contact
//	err = enc.Decrypt(ctx, &contact)      // after SELECT
//
// Keys come from a [KeySource], normally a [keyring.Keyring], as opaque
// handles ([keyring.DataKeys], [keyring.IndexKeys]); after warm-up neither
// call touches a KMS.
//
// # Tags
//
// The crypt struct tag holds one directive, then options, comma-separated;
// each option may be given once:
//
//	crypt:"-"                       the field is ignored
//	crypt:"scope"                   the record's scope (tenant): selects its keysets; a string
//	crypt:"id"                      an identity field, bound into every ciphertext of the record;
//	                                a string or an integer; several are allowed (composite keys)
//	crypt:"id,name=N"               ... bound under the name N instead of the Go field name
//	crypt:"encrypt"                 encrypt the field: string, []byte, *string or *[]byte
//	crypt:"encrypt,class=C"         ... with the keysets of field class C (default "default")
//	crypt:"encrypt,name=N"          ... bound into associated data as N instead of the Go name
//	crypt:"blind=F"                 a blind index (a string field, hex) of source field F
//	crypt:"blind=F+G"               a compound index over fields F and G
//	crypt:"blind=F,transform=T1+T2" transforms applied to each source first (see package blind:
//	                                lower, upper, trim, collapse, nfkc, digits, lastN, firstN,
//	                                emaildomain, emaillocal)
//	crypt:"blind=F,population=N"    N distinct values expected per scope: the planner (blind.Recommend) picks the width
//	crypt:"blind=F,bits=N"          keep N bits (1 to 256); with population= too, a width outside the
//	                                planner's safe range is a warning (IndexWarnings). An index states
//	                                bits= or population=: no default width is safe for every population.
//	                                The width is part of the stored index values: changing it (or a
//	                                population that moves it) needs the re-encryption job to rewrite them.
//	                                Several indexes of one field add up (a reader intersects them):
//	                                their sum is checked against the smallest population they declare
//	crypt:"blind=F,slow"            the Argon2id tier, for low-entropy sources
//	crypt:"blind=F,class=C"         use class C's index keyset (default: the source's class). An index
//	                                takes the class of its encrypted sources: a class= other than
//	                                theirs, or encrypted sources of two classes, is refused, since
//	                                whoever holds the index keyset can test guesses of the sources.
//	                                class= chooses only for an index over plaintext fields
//	crypt:"blind=F,name=N"          the index's name in its key derivation (default: the field's path)
//	crypt:"prefix=F,len=3..8,bits=N"
//	                                a token index (a crypt.Tokens field) answering HasPrefix over
//	                                source F: one token per prefix of 3 to 8 runes (len= from 1 to 64)
//	crypt:"suffix=F,len=3..8,bits=N"
//	                                ... answering HasSuffix: one token per suffix of 3 to 8 runes
//	crypt:"substring=F[,n=3][,tokens=64][,bits=N]"
//	                                ... answering Contains: one token per distinct n-gram of n runes
//	                                (2 to 8, default 3), or one overflow token for a value with more
//	                                than tokens= of them (1 to 1024, default 64); bits= defaults to
//	                                blind.RecommendSubstringBits for n and the transforms' case folding
//	crypt:"range=F,type=T,min=A,max=B[,step=N][,scale=N][,precision=P][,bits=N]"
//	                                ... answering Between over the text of F parsed as type T:
//	                                int (base 10), decimal (scale= digits after the point, 1 to 18,
//	                                parsed exactly: more digits is an error, never a rounding), date
//	                                (2006-01-02, as days since 1970-01-01) or timestamp (RFC 3339, as
//	                                Unix seconds; precision=second, minute, hour or day sets the
//	                                bucket). min= and max= are text of the type; step= (not for
//	                                timestamps) is the bucket width in the type's unit, default 1.
//	                                bits= defaults to 64 (see Token indexes)
//	crypt:"set=F+G,bits=N"          ... answering Equals over the elements F and G: a shared index,
//	                                such as home and work phone searched together
//	crypt:"set=Emails[].Address,bits=N"
//	                                ... over the field Address of every element of the slice Emails
//	                                (the forms mix: set=Home+Emails[].Address); Emails is a slice
//	                                this record encrypts, or of untagged structs: not one that
//	                                holds records of their own, nor one tagged "-" whose elements
//	                                have crypt tags, whose fields' classes the record does not know
//	crypt:"prefix=F,...,transform=T" (and suffix, substring, set) transforms as for blind=
//	crypt:"prefix=F,...,class=C,name=N"
//	                                class= and name= as for blind=; every token index states bits=,
//	                                but for substring and range indexes, which have a default
//	_ struct{} `crypt:"record=R"`   the record type bound into associated data (default: the Go type name)
//	_ struct{} `crypt:"record=R,unbound"`
//	                                ... a record that binds no identity, on purpose (see below)
//	crypt:"anyscope"                on a field that holds records of their own: they may be in
//	                                another scope than the holder's (see Records that hold records)
//
// A token index's field has type [Tokens] and sits in the record or a
// struct nested in it, not in a slice element; its sources are fields of
// the struct that holds it. A Tokens field without a token directive, a
// token directive on another type, and an option that does not apply to
// the directive (len= on a set index, transform= on a range index) are
// refused as below, as are a range domain that is inverted (min= above
// max=) or holds one value, and any width or length package blind refuses:
// a prefix, suffix or substring index whose tokens would nearly name what
// they stand for (blind.CheckTokens) is refused with the widest bits= it
// allows.
//
// Untagged fields of struct, pointer-to-struct, slice-of-struct and
// slice-of-pointer-to-struct type are walked when they contain tagged
// fields. An unexported field (not embedded) that holds tagged fields is
// refused, since reflection cannot set them and they would stay
// plaintext; tag it `crypt:"-"` to leave it alone on purpose. A field of
// interface type (any, or a map[string]any of custom fields) cannot be
// planned: Encrypt refuses, with a *PlanError naming the field, a record
// in which such a field holds a value whose type has crypt tags, since
// that value would be stored as plaintext. The fields
// of an embedded struct are promoted into the struct that embeds it, under
// the same path, and only where Go's selector (and encoding/json, which
// follows the same depth rule) would reach them: a tagged field hidden by,
// or ambiguous with, a field of the same Go name at the same or a
// shallower depth is refused. Fields inside a slice element are bound to
// the path "Slice[].Field". A tag on a field of another type, a bad or
// repeated option, or an unknown directive is a [*PlanError] that
// names the struct and field, returned before any value is touched; call
// [Validate] at startup to catch it early. Plans are computed once per type
// and cached.
//
// # Unambiguous bindings
//
// A value copied between two fields bound the same way would decrypt, so
// the planner refuses every such record with a [*PlanError] that names both
// fields (PlanError.Other is the second):
//
//   - two encrypted fields bound under one path: the same name=, or a name=
//     that spells another field's path ("Billing.Street",
//     "Addresses[].Street"), or an embedded field hidden as above;
//   - two identity fields bound under one name;
//   - two blind indexes with one name (their name=, or their path when
//     they have none): indexes of one class with one name derive the same
//     subkey, so equal values in them would correlate; two indexes at one
//     path, or a name that is another index's path, are refused too;
//   - a token index with the name or path of another token index or of a
//     blind index, or a name that is another index's path: a search or
//     lookup by that name would be ambiguous;
//   - a record with encrypted fields and no id field, unless it opts out
//     with unbound.
//
// The unbound option gives up the row binding: the associated data then
// holds only the scope, record type and field path, so a database writer
// can swap whole rows (every encrypted value of one record moved into
// another) within a scope, and each decrypts as the other record's. Values
// still cannot move between fields or tenants. Use it only for records
// whose rows are interchangeable, and never add an id to such a record
// without re-encrypting it: the associated data changes. A [SchemaSpec]
// opts out with Unbound, a job table with "unbound: true".
//
// Renaming a Go field changes its associated data: give encrypted fields a
// name= (or a stable record=) before renaming, or old values stop
// decrypting.
//
// # Records that hold records
//
// A struct type that declares record= is a record of its own, stored in
// its own row: what GORM calls an association. A field of another record
// that holds one (T, *T, []T or []*T) is not among the holder's fields:
// Encrypt and Decrypt of the holder encrypt and decrypt each held record
// under its own plan and binding (its own scope, identity and record
// type), and a record reached twice (a back reference) is done once. The
// whole tree is all or nothing. A held record inside a plain slice element
// is refused at plan time. Where the holder's type and the held record's
// type both have a scope field, the held record must be in its holder's
// scope, or Encrypt and Decrypt fail with [ErrScopeMismatch]: a foreign
// key repointed by a database writer would otherwise load another
// tenant's record into this tenant's, decrypted under its own binding.
// Tag the holding field crypt:"anyscope" where it holds records of other
// scopes on purpose. [CheckScopes] makes the same check without keys, on
// records decrypted one by one and then put in their holders (GORM's
// Preload).
//
// # Keeping the caller's plaintext
//
// Encrypt works in place. [Encryptor.EncryptedCopy] (and the generic
// [Encrypted]) return an encrypted copy instead and write nothing the
// caller holds, for code that uses the struct again after writing it.
// After a search, [Matches] compares a decrypted record with the query's
// values through the index's own transforms, to drop the rows a blind
// index found that hold another value.
//
// # Records described by columns
//
// A [SchemaSpec] describes a record by its columns, for code that holds
// rows rather than structs (the re-encryption job, the CLI). [NewSchema]
// compiles it through the planner that compiles struct tags, with the same
// checks, and [Encryptor.EncryptRow], [Encryptor.DecryptRow] and
// [Encryptor.RowIndexValues] then produce exactly the values Encrypt,
// Decrypt and BlindIndexValues produce for the struct. [SchemaOf] derives
// the SchemaSpec of a tagged struct, so no one writes it by hand.
//
// # What is stored
//
// A string field holds "fc1:" followed by unpadded base64url of a Tink AEAD
// ciphertext; a []byte field holds 0xFC 0x01 followed by the ciphertext. The
// ciphertext starts with its key ID, so [InspectText] and [InspectBinary]
// tell which key a value needs without decrypting it. docs/FORMAT.md
// specifies the bytes, with test vectors.
//
// Empty strings, empty and nil slices and nil pointers are stored as they
// are. Encrypt refuses a value that is already encrypted
// ([ErrAlreadyEncrypted]) and Decrypt refuses one that is not
// ([ErrNotEncrypted]), so a value is never encrypted twice and plaintext is
// never returned as if it had been decrypted. [Encryptor.DecryptMigrating]
// reads legacy plaintext on purpose, and says which fields held it.
//
// # Associated data
//
// Every ciphertext is bound to the canonical, length-prefixed encoding of
// (scope, record type, identity fields, field path). A value copied into
// another row, another field or another tenant fails with [ErrDecrypt].
// The scope and identity are bound as the record holds them, byte for
// byte: write them as the database reads them back. A PostgreSQL uuid
// column stores any form it is given in lower case with hyphens, and a
// CHAR(n) column pads or trims spaces, so a record written with
// "6F1C2A9E-…" or "c-1 " would not decrypt once read back (package
// gormcrypt refuses the uuid case).
//
// # Blind indexes
//
// An index value is HMAC-SHA-256 (or Argon2id, for slow indexes) under a
// subkey derived for this record type and index from the scope's index
// keyset, truncated to bits. Query with [Encryptor.BlindIndexValues], which
// returns the value under every enabled index key so that lookups keep
// working during index-key rotation. An index matches more than the value
// sought (that is what limits its leakage): decrypt and compare the rows it
// finds.
//
// # Token indexes
//
// A token index keeps an encrypted field searchable by more than equality.
// [Encryptor.Encrypt] fills a [Tokens] field from the plaintext of its
// sources, after their transforms: a set of int64 tokens that the data
// layer stores beside the row (a side table of (row key, token), or a
// PostgreSQL bigint[] column; it is not a column value by itself).
// [Encryptor.Search] turns a [Term] into the queries the data layer runs,
// and [TokenSearch.Match] drops the rows they find that do not match, once
// decrypted:
//
//	type Member struct {
//		ID         string       `crypt:"id"`
//		TenantID   string       `crypt:"scope"`
//		Name       string       `crypt:"encrypt,class=pii"`
//		NamePrefix crypt.Tokens `crypt:"prefix=Name,len=3..8,bits=12,transform=lower+trim"`
//		Born       string       `crypt:"encrypt,class=pii"` // "1815-12-10"
//		BornRange  crypt.Tokens `crypt:"range=Born,type=date,min=1800-01-01,max=2100-12-31"`
//	}
//
//	err := enc.Encrypt(ctx, &m) // then INSERT m, and its tokens (m.NamePrefix, m.BornRange)
//
//	s, err := enc.Search(ctx, &Member{TenantID: "acme"}, "NamePrefix", crypt.HasPrefix("Ada"))
//	// SELECT the rows whose NamePrefix tokens one of s.Queries matches
//	// (blind.Query's doc has the SQL), decrypt each, and keep it if
//	ok, err := s.Match(&row)
//
//	s, err = enc.Search(ctx, &Member{TenantID: "acme"}, "BornRange", crypt.Between("1800-01-01", "1849-12-31"))
//
// The terms are [HasPrefix], [HasSuffix], [Contains], [Between] (inclusive;
// "" leaves an end open) and [Equals], one for each kind of index; another
// term, a query shorter than the index looks up (it wraps
// blind.ErrQueryTooShort) or a bound that does not parse is a
// [*SearchError]. The query goes through the index's transforms, and
// Search computes it under every enabled index key, primary first, so
// searches keep working during an index-key rotation. It never creates a
// keyset: for a scope with no index keyset, where no row holds a token, it
// returns a search that matches nothing ([TokenSearch.Empty]) and no
// error, as [Encryptor.BlindIndexValues] returns no values there; for a
// shredded scope it fails with the keyring's error
// (keyring.ErrScopeShredded) in a [*FieldError]. A Between whose interval
// holds no value of the domain (lo above hi, or outside min=..max=) gives
// a search that matches nothing too: its Queries are empty and
// [TokenSearch.Empty] says so.
//
// Encrypt computes every token index under the primary index key, all or
// nothing: a range value that does not parse as its type ([ErrRangeSyntax])
// or lies outside its domain (blind.ErrOutOfDomain) fails the whole record
// with a [*FieldError] naming the index and the source field, never the
// value. A Tokens field is nil when its sources hold nothing. Decrypt
// leaves Tokens fields alone; [Encryptor.EncryptedCopy] fills the copy's.
//
// A range index's bits default to 64 because its leakage is bounded by the
// tree, not by the width: each value has one token per level of a binary
// tree over the domain, shared by the values of its subtree, so equal
// tokens say "close values" at every width; narrower tokens only add false
// positives. Choose the coarsest step= (or precision=) that serves the
// searches instead. Package blind's documentation states what each kind
// reveals, and docs/FORMAT.md the stored tokens exactly.
//
// A [SchemaSpec] describes token indexes as [TokenIndexSpec] values
// (YAML and JSON key "tokens"), compiled by the same planner with the same
// checks; [SchemaOf] derives them from the tags, and
// [Encryptor.EncryptRow] sets row[name] to each index's Tokens.
// [Encryptor.SearchRow] and [TokenSearch.MatchRow] search rows.
//
// # Field classes
//
// A process whose keyring has no KEK for a class (or whose KEK refuses it)
// cannot decrypt that class: Decrypt leaves those fields encrypted, decrypts
// the rest, and returns an [*AccessError] matching [ErrNoAccess].
//
// # Errors
//
// Every failure names the record type and field path, never a value:
// [*FieldError] wraps [ErrDecrypt], [ErrMalformed], [ErrNotEncrypted],
// [ErrAlreadyEncrypted], [ErrKeyNotFound], [ErrKeyDisabled],
// [ErrKeyDestroyed] or the keyring's error (such as
// keyring.ErrKEKUnavailable, which is worth retrying). Encrypt and Decrypt
// are all or nothing: after an error (other than an AccessError) the record
// is unchanged.
//
// # Build tags
//
// By default the package uses unsafe on its hot path: it reaches fields at
// offsets computed once per type, and passes strings to Tink and stores its
// results without copying them. Build with -tags fieldcrypt_purego for a
// package without unsafe, which reaches fields through reflection and
// copies; it stores and reads the same values, and Encrypt and Decrypt cost
// about 16% and 8% more.
package crypt
