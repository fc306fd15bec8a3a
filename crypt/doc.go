// Package crypt encrypts the sensitive fields of Go structs in place, binds
// every ciphertext to its record, field and tenant, and computes blind
// indexes so encrypted columns stay searchable by equality.
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
//	crypt:"blind=F,class=C"         use class C's index keyset (default: the source's class)
//	crypt:"blind=F,name=N"          the index's name in its key derivation (default: the field's path)
//	_ struct{} `crypt:"record=R"`   the record type bound into associated data (default: the Go type name)
//	_ struct{} `crypt:"record=R,unbound"`
//	                                ... a record that binds no identity, on purpose (see below)
//
// Untagged fields of struct, pointer-to-struct, slice-of-struct and
// slice-of-pointer-to-struct type are walked when they contain tagged
// fields. The fields of an embedded struct are promoted into the struct
// that embeds it, under the same path, and only where Go's selector (and
// encoding/json, which follows the same depth rule) would reach them: a
// tagged field hidden by, or ambiguous with, a field of the same Go name at
// the same or a shallower depth is refused. Fields inside a slice element
// are bound to the path "Slice[].Field". A tag on a field of another type, a
// bad or repeated option, or an unknown directive is a [*PlanError] that
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
// is refused at plan time.
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
