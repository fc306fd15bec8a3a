package reencrypt

import (
	"errors"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/internal/sqldialect"
	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// KEKError means the job's keyring cannot open a keyset the table needs:
// the class's configured KEK cannot unwrap it or refuses to (permission
// denied, a key that is not the one that wrapped it), or the keyset is not
// trusted (wrapped by a KEK not configured for its class, failing its
// integrity check, rolled back). Every row under that keyset would fail
// the same way, so the run stops at the first one, with outcome Failed and
// this error, instead of counting each row as failed. Progress is kept:
// fix the configuration or the keyset and run again. Err is the keyring's
// error, which names the keyset.
//
// A class for which the keyring has no KEK at all is the role table's
// case (a process that may not read the class): its rows are counted as
// failed with reason "no_access" and the run goes on. So are the rows of
// a shredded scope ("scope_shredded"), of a scope without keysets, and
// under a destroyed or disabled key: those are about the rows, not the
// run.
type KEKError struct {
	Table string
	Err   error
}

func (e *KEKError) Error() string {
	return "reencrypt: table " + e.Table + ": stopped at a keyset the keyring cannot open (every row under it would fail; progress is kept): " + e.Err.Error()
}

func (e *KEKError) Unwrap() error { return e.Err }

// kekNamer is what kekFailure asks of the job's keys: *keyring.Keyring has
// it, and so does a crypt.KeySource that embeds one.
type kekNamer interface {
	KEKURI(class string) (string, error)
}

// kekFailure reports whether err means a keyset cannot be opened at all
// (see KEKError), as opposed to one row being unreadable. keys are the
// job's keys: ErrNoAccess is a KEK failure when they have a KEK for the
// class (the KEK refused), and the per-row "no_access" case when they have
// none. Keys that cannot say (no KEKURI method) count as having one, so
// the run stops rather than skipping rows it might have read.
func kekFailure(err error, keys crypt.KeySource) bool {
	if errors.Is(err, keyring.ErrNoAccess) {
		var classes []string
		var ae *crypt.AccessError
		var ke *keyring.Error
		switch {
		case errors.As(err, &ae):
			classes = ae.Classes
		case errors.As(err, &ke):
			classes = []string{ke.ID.Class}
		}
		kn, ok := keys.(kekNamer)
		if len(classes) == 0 || !ok {
			return true
		}
		for _, class := range classes {
			if _, noKEK := kn.KEKURI(class); noKEK == nil {
				return true // the class has a KEK, and it refused
			}
		}
		return false
	}
	for _, target := range []error{keyring.ErrKEKNotAllowed, keyring.ErrKEKMismatch,
		keyring.ErrCorruptKeyset, keyring.ErrIntegrity, keyring.ErrRollback} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// permanent reports whether err cannot go away by trying again: a bad
// configuration, a keyset the keyring cannot open, or a permanent SQL
// error. The job does not retry those.
func permanent(err error) bool {
	var ce *ConfigError
	var ke *KEKError
	return errors.As(err, &ce) || errors.As(err, &ke) || errors.Is(err, ErrConfigDrift) || errors.Is(err, ErrJobChanged) || permanentSQL(err)
}

// permanentSQL reports whether err is an SQL error that a retry cannot
// fix: an undefined column or table, a syntax error, a refused privilege,
// a value the column cannot hold. Serialization failures, deadlocks, lost
// connections, timeouts and resource limits are not permanent.
func permanentSQL(err error) bool { return sqldialect.Classify(err) != sqldialect.Transient }
