package kms_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/kms"
)

// FuzzOpenerURI feeds arbitrary KEK URIs to Scheme and Opener.Open: neither
// panics, Open dispatches on exactly the scheme Scheme returns, passing the
// URI unchanged, and refuses a URI with no scheme or an unregistered one
// with a *kms.Error of CodeInvalidArgument that names the URI (and the
// scheme).
func FuzzOpenerURI(f *testing.F) {
	for _, s := range []string{
		"", "fz://x", "fz://", "://x", "fz:/x", "fz:x", "hcvault://transit/keys/pii", "local:///tmp/kek.json",
		"aws-kms://arn:aws:kms:eu-west-1:111122223333:key/k1", "gcp-kms://projects/p/locations/l/keyRings/r/cryptoKeys/k",
		"FZ://x", "fz ://x", "fz://a://b", "\x00://", "fz\n://x",
	} {
		f.Add(s)
	}
	opener := kms.NewOpener()
	var got string
	opener.Register("fz", func(_ context.Context, uri string) (*kms.Keeper, error) {
		got = uri
		return nil, errors.New("fz: not a real backend")
	})
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, uri string) {
		got = ""
		scheme := kms.Scheme(uri)
		_, err := opener.Open(ctx, uri)
		if err == nil {
			t.Fatalf("Open(%q) err = nil", uri)
		}
		if scheme == "fz" {
			if got != uri {
				t.Fatalf("Open(%q) passed %q to the fz backend", uri, got)
			}
			return
		}
		if got != "" {
			t.Fatalf("Open(%q) dispatched to fz, but Scheme() = %q", uri, scheme)
		}
		var ke *kms.Error
		if !errors.As(err, &ke) || ke.Code != kms.CodeInvalidArgument || ke.KeyURI != uri || ke.Op != "open" {
			t.Fatalf("Open(%q) err = %#v, want a *kms.Error of CodeInvalidArgument naming the URI", uri, err)
		}
		if !strings.Contains(err.Error(), uri) {
			t.Fatalf("Open(%q) err = %q does not name the URI", uri, err)
		}
		if scheme != "" && !strings.Contains(err.Error(), strconv.Quote(scheme)) {
			t.Fatalf("Open(%q) err = %q does not name the scheme %q", uri, err, scheme)
		}
		if scheme == "" && strings.Contains(uri, "://") && !strings.HasPrefix(uri, "://") {
			t.Fatalf("Scheme(%q) = \"\" for a URI with a scheme", uri)
		}
	})
}
