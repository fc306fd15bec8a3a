package cli

import (
	"errors"
	"fmt"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// keyringHint adds to a keyring error what the operator can do about it:
// the KEK setting a class lacks, the KEK a keyset should be under and the
// command that moves it there, how a shredded scope comes back, what a
// failed integrity check means. class may be empty when err names its
// keyset.
func (a *app) keyringHint(err error, class string) error {
	var kerr *keyring.Error
	hasID := errors.As(err, &kerr)
	if class == "" && hasID {
		class = kerr.ID.Class
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, keyring.ErrNoAccess):
		return a.noAccessHint(err, class)
	case errors.Is(err, keyring.ErrKEKMismatch):
		// The keyring's message names both KEKs and keys rewrap.
		return fmt.Errorf("%w (nothing was changed; the KEK of class %s is set by %s)", err, class, a.kekOrigin(class))
	case errors.Is(err, keyring.ErrKEKNotAllowed):
		configured := "(none)"
		if uri, kerr := a.configuredKEK(class); kerr == nil {
			configured = uri
		}
		return fmt.Errorf("%w (nothing was changed: the KEK configured for class %s is %s, set by %s. "+
			"If the keyset's KEK is one you moved the class away from, add it for this class only with --accept-kek %s=URI and run `fieldcrypt keys rewrap`. "+
			"If you do not recognise that KEK, do not accept it: the record may have been planted by a writer of the keyset store; treat it as a security incident)",
			err, class, configured, a.kekOrigin(class), class)
	case errors.Is(err, keyring.ErrScopeShredded):
		scope := "SCOPE"
		if hasID {
			scope = kerr.ID.Scope
		}
		return fmt.Errorf("%w (its data is unreadable for good and nothing is created for it; "+
			"`fieldcrypt keys unshred --scope %s --yes` brings the scope back with new keys, under which the old data stays unreadable)", err, scope)
	case errors.Is(err, keyring.ErrIntegrity), errors.Is(err, keyring.ErrRollback):
		return fmt.Errorf("%w (the keyset store was changed outside fieldcrypt, or an old copy of a keyset was put back: "+
			"treat it as a security incident, and restore the keyset from a trusted export with `fieldcrypt keys import --overwrite --verify`)", err)
	}
	return err
}

// configuredKEK returns the KEK URI configured for class (its own or the
// default one).
func (a *app) configuredKEK(class string) (string, error) {
	if uri, ok := a.cfg.KEKs[class]; ok && uri != "" {
		return uri, nil
	}
	if a.cfg.DefaultKEK != "" {
		return a.cfg.DefaultKEK, nil
	}
	return "", keyring.ErrNoAccess
}

// kekOrigin says where the KEK of class was configured.
func (a *app) kekOrigin(class string) string {
	if _, ok := a.cfg.KEKs[class]; ok {
		return a.cfg.origin(kekKey + "." + class)
	}
	return a.cfg.origin("default_kek")
}
