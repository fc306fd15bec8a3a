// Package keyring keeps fieldcrypt's Tink keysets: one per (scope, field
// class, purpose), stored only wrapped under the class's KEK, unwrapped on
// demand and cached so that the hot path never calls a KMS.
//
// # Services and administration
//
// A service holds a [Keyring], made with [New]: [Keyring.DataKeys] and
// [Keyring.IndexKeys] for writes, [Keyring.ExistingDataKeys] and
// [Keyring.ExistingIndexKeys] for reads, [Keyring.Scope] (the same four
// for one scope, looked up once per record), [Keyring.Stats],
// [Keyring.KEKURI] and [Keyring.Close]. Package crypt needs nothing more.
//
// Everything else changes keysets and belongs to a [Manager], made with
// [NewManager] from a keyring: [Manager.CreateKeysets] (keys ahead of
// traffic, `fieldcrypt keys init`), [Manager.Keys], the key operations
// ([Manager.AddKey], [Manager.PromoteKey], [Manager.DisableKey],
// [Manager.EnableKey], [Manager.DestroyKey]), [Manager.Rewrap],
// [Manager.Shred] and [Manager.Unshred], [Manager.Export] and
// [Manager.Import], and [Manager.UpgradeLegacy]. The `fieldcrypt keys`
// commands use it. A Manager shares its keyring's store, KEKs, cache and
// record of versions seen, so its changes reach that keyring at once and
// other processes within [Config.CacheTTL]. The split separates APIs, not
// privileges: any holder of a Keyring can make a Manager.
//
// # Keysets
//
// A scope is a tenant, or [DefaultScope]. A field class groups fields by who
// may read them ("pii", "support", ...). The purpose is [PurposeData] (Tink
// AEAD keys, AES-256-GCM by default, that encrypt field values) or
// [PurposeIndex] (Tink HMAC-SHA-256 PRF keys that compute blind indexes).
// Each keyset is wrapped by its class's KEK with associated data naming its
// scope, class and purpose ([WrapAssociatedData]), so a stored keyset copied
// to another tenant or class does not unwrap.
//
// # Key handles
//
// [Keyring.DataKeys] and [Keyring.IndexKeys] return an unwrapped keyset as
// an opaque, immutable handle: its keys never leave it.
// [DataKeys.Encrypt] encrypts with the primary key and counts the
// encryption for the nonce budget ([NonceBudget]); [DataKeys.Decrypt] finds
// the key by the ID in the ciphertext. [IndexKeys.Compute] computes the PRF
// of one enabled key, and [IndexKeys.KeyIDs] lists those keys, the primary
// first. A reload, a rotation or a cache eviction replaces a handle rather
// than changing it.
//
// # Integrity against writers of the store
//
// The store is assumed writable by an attacker (it usually lives in the
// CRM database). Everything that decides behaviour is authenticated under
// the KEK: key IDs, statuses and the primary are inside the encrypted Tink
// keyset, and a state document (the state version, creation times,
// destroyed key IDs, the shred tombstone) is bound into the wrap's
// associated data byte for byte. An edited record fails with
// [ErrIntegrity]; a keyset wrapped by a KEK not trusted for its class with
// [ErrKEKNotAllowed] ([Config.AcceptKEKs] is per class). The state version
// only grows: a keyring refuses a version lower than one it has seen, and
// with a [Config.Anchor] outside the store (sqlstore.Anchor) also across
// restarts, with [ErrRollback]. [Manager.Keys] reads only authenticated
// state. Only [Manager.Rewrap] moves a keyset to another KEK; the other
// key operations refuse with [ErrKEKMismatch]. docs/SECURITY.md has the
// threat table, docs/FORMAT.md section 7 the bytes.
//
// # Reads create nothing; shredded stays shredded
//
// [Keyring.ExistingDataKeys] and [Keyring.ExistingIndexKeys] (used by
// decryption and blind-index lookups) never create a keyset or call a KMS
// to wrap one; only writes do, and [Config.DisableAutoCreate] turns that
// off. [Manager.Shred] replaces each keyset of a scope with an
// authenticated tombstone; afterwards every read and write of the scope
// fails with [ErrScopeShredded] and nothing is created, until an
// administrator runs [Manager.Unshred], which makes new keys.
//
// # Stores
//
// A [Store] keeps wrapped keysets: [MemoryStore] here, a directory in
// keyring/filestore, and a SQL table (PostgreSQL, SQLite, MySQL/MariaDB) in
// keyring/sqlstore. Writes are compare-and-swap on a version counter, so
// several processes may operate on one store.
//
// # Caching and KEK outages
//
// An unwrapped keyset is cached for [Config.CacheTTL] (bounded by
// [Config.MaxKeysets]); concurrent loads of one keyset collapse into one
// store read and one KMS call. Past the TTL it is reloaded in the background
// while the cached copy keeps serving. If the KEK is down, the cached copy
// serves for a further [Config.StalePeriod]; after that calls fail with
// [ErrKEKUnavailable], a transient error. [Keyring.Stats] counts KMS calls and
// cache hits: after warm-up a million records cost zero KMS calls.
//
// # Field classes and access
//
// [Config.KEKs] maps each class to its KEK. A process given no KEK for a
// class, or whose KEK credentials are refused, gets [ErrNoAccess] for it;
// package crypt then leaves that class's fields encrypted. A support tool
// whose Vault token can use only the support KEK thus cannot read personal
// data even with full read access to the database. A class with neither a
// KEK nor an accepted one ([Config.AcceptKEKs]) is refused before the store
// is read, on every scope alike: its lookups and searches fail with
// ErrNoAccess on a tenant that never stored the class as on one that did,
// so the answer does not tell which tenants have its data.
//
// # Key rotation
//
// Data-key rotation is two-phase and safe for a fleet: [Manager.AddKey] adds
// a key that is enabled but not primary; after every instance has reloaded
// (wait longer than CacheTTL) [Manager.PromoteKey] makes it primary. Old
// values keep decrypting by key ID until the re-encryption job has moved
// them; then [Manager.DisableKey] and [Manager.DestroyKey] retire the old key.
// Index keys rotate the same way: queries compute index values under every
// enabled key. [Manager.Shred] destroys a whole scope (crypto-shredding).
//
// # Nonce budget
//
// AES-GCM with random 96-bit nonces allows about 2^32 encryptions per key
// ([NonceBudget]). [Manager.Keys] reports each key's age and this process's
// encryption count; rotate data keys at least yearly, and sooner for
// write-heavy tables (a fleet writing 100 values per second reaches 2^32 in
// about 16 months).
//
// # Errors
//
// Failures are [*Error] values naming the keyset and operation, wrapping
// sentinels such as [ErrNoAccess], [ErrKEKUnavailable], [ErrCorruptKeyset],
// [ErrKeysetNotFound], [ErrIntegrity], [ErrRollback], [ErrScopeShredded],
// [ErrKEKMismatch] and the KEK's own [kms.Error]. None contains key
// material.
package keyring
