package gcpkms_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/gcpkms"
)

// FuzzKeyName feeds arbitrary KEK URIs to KeyName: it never panics; a URI
// it accepts is URI(name) exactly, for a CryptoKey resource name of eight
// segments; and one it refuses is a *kms.Error of CodeInvalidArgument naming
// the URI.
func FuzzKeyName(f *testing.F) {
	for _, s := range []string{
		"gcp-kms://projects/p/locations/l/keyRings/r/cryptoKeys/k",
		"gcp-kms://projects/my-proj/locations/europe-west1/keyRings/ring_1/cryptoKeys/pii-2",
		"gcp-kms://projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1",
		"gcp-kms://projects/p/locations/l/keyRings/r/cryptoKeys/", "gcp-kms://projects/p", "gcp-kms://", "",
		"gcp-kms://projects/p q/locations/l/keyRings/r/cryptoKeys/k", "gcp-kms://projects/p/locations/l/keyRings/r?/cryptoKeys/k",
		"gcp-kms://Projects/p/locations/l/keyRings/r/cryptoKeys/k", "gcp-kms://projects/p/locations/l/keyRings/rïng/cryptoKeys/k",
		"gcp-kms://projects/p/locations/l/keyRings/r/cryptoKeys/k/", "gcp-kms:///projects/p/locations/l/keyRings/r/cryptoKeys/k",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		name, err := gcpkms.KeyName(uri)
		if err != nil {
			var ke *kms.Error
			if !errors.As(err, &ke) || ke.Code != kms.CodeInvalidArgument || ke.KeyURI != uri || ke.Backend != gcpkms.Scheme {
				t.Fatalf("KeyName(%q) err = %#v, want a *kms.Error of CodeInvalidArgument naming the URI", uri, err)
			}
			return
		}
		if gcpkms.URI(name) != uri {
			t.Fatalf("KeyName(%q) = %q, whose URI is %q", uri, name, gcpkms.URI(name))
		}
		segs := strings.Split(name, "/")
		if len(segs) != 8 || segs[0] != "projects" || segs[2] != "locations" || segs[4] != "keyRings" || segs[6] != "cryptoKeys" {
			t.Fatalf("KeyName(%q) accepted %q", uri, name)
		}
		for i := 1; i < 8; i += 2 {
			if segs[i] == "" || strings.ContainsAny(segs[i], " \t\r\n?#") {
				t.Fatalf("KeyName(%q) accepted ID %q", uri, segs[i])
			}
		}
	})
}
