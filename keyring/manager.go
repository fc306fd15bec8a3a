package keyring

// Manager administers the keysets of a [Keyring]: it creates a scope's
// keysets ahead of traffic, adds, promotes, disables, enables and destroys
// keys, lists them, rewraps keysets under a new KEK, shreds and unshreds
// scopes, exports and imports backups, and upgrades legacy records. The
// `fieldcrypt keys` commands are built on it; services hold a *Keyring
// only.
//
// A Manager works through its keyring: the same store, KEKs, cache and
// version tracking. A change it makes drops the keyring's cached copy of
// the keyset at once, so the keyring it was made from sees the change on
// its next call; other processes see it within their CacheTTL. Every
// change is authenticated under the KEK and written with compare-and-swap,
// so several Managers, in one process or many, may work on one store.
//
// The split is one of API, not of access: any holder of a Keyring can
// make a Manager. What keeps a service from changing keysets is what its
// store credentials and KEKs allow.
//
// A Manager is safe for concurrent use. It does not own the keyring:
// closing the keyring ends the Manager's use too.
type Manager struct {
	k *Keyring
}

// NewManager returns a Manager for the keysets of k.
func NewManager(k *Keyring) *Manager {
	return &Manager{k: k}
}
