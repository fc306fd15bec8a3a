package vault_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/vault"
)

// FuzzParseURI feeds arbitrary KEK URIs to ParseURI: it never panics; a
// URI it accepts is hcvault://<mount>/keys/<name> exactly, with no empty,
// "." or ".." mount segment; and one it refuses is a *kms.Error of
// CodeInvalidArgument naming the URI, which OpenFunc refuses too, before
// any call to Vault.
func FuzzParseURI(f *testing.F) {
	for _, s := range []string{
		"hcvault://transit/keys/pii", "hcvault://secret/transit/keys/pii", "hcvault://a/keys/b/keys/c",
		"hcvault://transit/keys/keys", "hcvault://transit/keys/tenant-a.pii@v2", "", "hcvault://",
		"hcvault:///keys/pii", "hcvault://transit/keys/pii/", "hcvault://transit/../sys/keys/pii",
		"hcvault://transit/./keys/pii", "hcvault://transit/keys/pii?x=1", "hcvault://transit/keys/p ii",
		"hcvault://trânsit/keys/pïi", "hcvault://transit/keys/\xff", "HCVAULT://transit/keys/pii",
	} {
		f.Add(s)
	}
	open := vault.OpenFunc(nil)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, uri string) {
		mount, name, err := vault.ParseURI(uri)
		if err != nil {
			var ke *kms.Error
			if !errors.As(err, &ke) || ke.Code != kms.CodeInvalidArgument || ke.KeyURI != uri || ke.Backend != vault.Scheme {
				t.Fatalf("ParseURI(%q) err = %#v, want a *kms.Error of CodeInvalidArgument naming the URI", uri, err)
			}
			if _, err := open(ctx, uri); !errors.Is(err, kms.ErrInvalidArgument) {
				t.Fatalf("OpenFunc(nil)(%q) err = %v, want ErrInvalidArgument", uri, err)
			}
			return
		}
		if again := vault.Scheme + "://" + mount + "/keys/" + name; again != uri {
			t.Fatalf("ParseURI(%q) = %q, %q, which make %q", uri, mount, name, again)
		}
		for seg := range strings.SplitSeq(mount, "/") {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("ParseURI(%q) accepted mount %q with segment %q", uri, mount, seg)
			}
		}
		if name == "" || strings.ContainsAny(name, "/?# ") {
			t.Fatalf("ParseURI(%q) accepted key name %q", uri, name)
		}
	})
}
