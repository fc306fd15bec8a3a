package vault

import "fmt"

// PolicyHCL returns the least-privilege Vault policy for a KEK: update
// (the capability Transit's POST endpoints need) on the encrypt, decrypt and
// rewrap paths of the one key keyURI names, and nothing else: no read of the
// key, no rotation, no other key. Rewrap needs decrypt and encrypt too, for
// ciphertexts with associated data (see [kms.Keeper.Rewrap]).
//
// For hcvault://transit/keys/pii it returns:
//
//	path "transit/encrypt/pii" {
//	  capabilities = ["update"]
//	}
//	path "transit/decrypt/pii" {
//	  capabilities = ["update"]
//	}
//	path "transit/rewrap/pii" {
//	  capabilities = ["update"]
//	}
func PolicyHCL(keyURI string) (string, error) {
	ref, err := parseURI(keyURI)
	if err != nil {
		return "", err
	}
	var out string
	for _, op := range []string{"encrypt", "decrypt", "rewrap"} {
		out += fmt.Sprintf("path %q {\n  capabilities = [\"update\"]\n}\n", ref.path(op))
	}
	return out, nil
}
