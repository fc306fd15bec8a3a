// Package testkeys gives tests what a keyring needs without a KMS: local
// development KEKs, one per field class, in the test's temporary
// directory, and keyrings over a keyset store the test chooses (closed when
// the test ends). It imports no database driver, so any test can use it.
package testkeys

import (
	"path/filepath"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
)

// KEKs creates a local development KEK for each class and returns an
// opener for them and the class → KEK URI map a keyring.Config takes.
func KEKs(t testing.TB, classes ...string) (*kms.Opener, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	opener := kms.NewOpener()
	opener.Register(local.Scheme, local.OpenFunc(nil))
	keks := make(map[string]string, len(classes))
	for _, class := range classes {
		uri, err := local.CreateInsecureKeyFile(filepath.Join(dir, class+".json"))
		if err != nil {
			t.Fatal(err)
		}
		keks[class] = uri
	}
	return opener, keks
}

// Keyring opens a keyring (a process) over store that holds the given
// KEKs, and closes it when the test ends.
func Keyring(t testing.TB, store keyring.Store, opener *kms.Opener, keks map[string]string) *keyring.Keyring {
	t.Helper()
	kr, err := keyring.New(keyring.Config{Store: store, Opener: opener, KEKs: keks})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kr.Close() })
	return kr
}
