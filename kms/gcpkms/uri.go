package gcpkms

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/fieldcrypt/fieldcrypt/kms"
)

// Scheme is the URI scheme of this backend. It is also the prefix Tink's own
// Cloud KMS AEAD uses, so a key URI works with both.
const Scheme = "gcp-kms"

// idPattern is what Cloud KMS accepts for key ring and crypto key IDs.
var idPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,63}$`)

// keyNameParts are the literal segments of a CryptoKey resource name, at the
// even positions of projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>.
var keyNameParts = [...]string{"projects", "locations", "keyRings", "cryptoKeys"}

// KeyName returns the CryptoKey resource name that a gcp-kms:// URI names:
// "projects/p/locations/l/keyRings/r/cryptoKeys/k" for
// "gcp-kms://projects/p/locations/l/keyRings/r/cryptoKeys/k". A URI that is
// malformed, or that names a CryptoKeyVersion rather than a CryptoKey, is a
// [*kms.Error] with [kms.CodeInvalidArgument].
func KeyName(uri string) (string, error) {
	name, ok := strings.CutPrefix(uri, Scheme+"://")
	if !ok {
		return "", uriError(uri, fmt.Sprintf("want scheme %s://", Scheme))
	}
	if err := checkKeyName(name); err != nil {
		return "", uriError(uri, err.Error())
	}
	return name, nil
}

// URI returns the gcp-kms:// URI of a CryptoKey resource name.
func URI(keyName string) string { return Scheme + "://" + keyName }

func checkKeyName(name string) error {
	const want = "want projects/<project>/locations/<location>/keyRings/<ring>/cryptoKeys/<key>"
	segs := strings.Split(name, "/")
	if len(segs) >= 10 && segs[8] == "cryptoKeyVersions" {
		return fmt.Errorf("names a CryptoKeyVersion; name the CryptoKey so that encryption uses its primary version (%s)", want)
	}
	if len(segs) != 2*len(keyNameParts) {
		return fmt.Errorf("has %d path segments, %s", len(segs), want)
	}
	for i, part := range keyNameParts {
		if segs[2*i] != part {
			return fmt.Errorf("segment %d is %q, not %q (%s)", 2*i+1, segs[2*i], part, want)
		}
		id := segs[2*i+1]
		if id == "" {
			return fmt.Errorf("empty %s ID (%s)", part, want)
		}
		if strings.ContainsAny(id, " \t\r\n?#") {
			return fmt.Errorf("%s ID %q contains a space or URL punctuation", part, id)
		}
	}
	if !idPattern.MatchString(segs[5]) {
		return fmt.Errorf("key ring ID %q is not 1 to 63 letters, digits, '_' or '-'", segs[5])
	}
	if !idPattern.MatchString(segs[7]) {
		return fmt.Errorf("crypto key ID %q is not 1 to 63 letters, digits, '_' or '-'", segs[7])
	}
	return nil
}

func uriError(uri, msg string) error {
	return &kms.Error{Code: kms.CodeInvalidArgument, Op: "open", Backend: Scheme, KeyURI: uri,
		Err: fmt.Errorf("malformed Cloud KMS key URI: %s", msg)}
}
