package vault_test

import (
	"context"
	"errors"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/vault"
)

func TestParseURI(t *testing.T) {
	for _, tc := range []struct {
		uri, mount, name string
	}{
		{"hcvault://transit/keys/pii", "transit", "pii"},
		{"hcvault://secret/transit/keys/pii", "secret/transit", "pii"},
		{"hcvault://a/keys/b/keys/c", "a/keys/b", "c"},
		{"hcvault://transit/keys/keys", "transit", "keys"},
		{"hcvault://transit/keys/tenant-a.pii@v2", "transit", "tenant-a.pii@v2"},
		{"hcvault://transit/keys/x", "transit", "x"},
	} {
		t.Run(tc.uri, func(t *testing.T) {
			mount, name, err := vault.ParseURI(tc.uri)
			if err != nil || mount != tc.mount || name != tc.name {
				t.Errorf("ParseURI(%q) = %q, %q, %v; want %q, %q, nil", tc.uri, mount, name, err, tc.mount, tc.name)
			}
		})
	}
}

func TestParseURIRejects(t *testing.T) {
	for _, uri := range []string{
		"",
		"transit/keys/pii",
		"gcp-kms://transit/keys/pii",
		"hcvault://",
		"hcvault://transit",
		"hcvault://transit/keys/",
		"hcvault:///keys/pii",
		"hcvault://transit/keys/pii/",
		"hcvault://transit/keys/a/b",
		"hcvault://transit//x/keys/pii",
		"hcvault:///transit/keys/pii",
		"hcvault://transit/../sys/keys/pii",
		"hcvault://transit/keys/-pii",
		"hcvault://transit/keys/pii?x=1",
		"hcvault://transit/keys/pii#frag",
		"hcvault://transit/keys/p ii",
	} {
		t.Run(uri, func(t *testing.T) {
			_, _, err := vault.ParseURI(uri)
			if err == nil {
				t.Fatalf("ParseURI(%q) err = nil, want error", uri)
			}
			if code := kms.CodeOf(err); code != kms.CodeInvalidArgument {
				t.Errorf("ParseURI(%q) code = %v, want invalid argument (err = %v)", uri, code, err)
			}
			// Opening refuses it too, before any call to Vault.
			if _, err := vault.OpenFunc(nil)(context.Background(), uri); !errors.Is(err, kms.ErrInvalidArgument) {
				t.Errorf("OpenFunc(nil)(%q) err = %v, want ErrInvalidArgument", uri, err)
			}
		})
	}
}

func TestNewNilClient(t *testing.T) {
	_, err := vault.New(nil, "hcvault://transit/keys/pii", nil)
	if !errors.Is(err, kms.ErrInvalidArgument) {
		t.Errorf("New(nil client) err = %v, want ErrInvalidArgument", err)
	}
}

func TestPolicyHCL(t *testing.T) {
	got, err := vault.PolicyHCL("hcvault://secret/transit/keys/pii")
	if err != nil {
		t.Fatalf("PolicyHCL() err = %v", err)
	}
	const want = `path "secret/transit/encrypt/pii" {
  capabilities = ["update"]
}
path "secret/transit/decrypt/pii" {
  capabilities = ["update"]
}
path "secret/transit/rewrap/pii" {
  capabilities = ["update"]
}
`
	if got != want {
		t.Errorf("PolicyHCL() =\n%s\nwant\n%s", got, want)
	}
	if _, err := vault.PolicyHCL("hcvault://transit"); !errors.Is(err, kms.ErrInvalidArgument) {
		t.Errorf("PolicyHCL(bad URI) err = %v, want ErrInvalidArgument", err)
	}
}
