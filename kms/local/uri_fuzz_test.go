package local_test

import (
	"context"
	"errors"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
)

// FuzzPathOf feeds arbitrary KEK URIs to PathOf: it never panics; a URI it
// accepts is URI(path) exactly, for a non-empty path; and one it refuses is
// a *kms.Error of CodeInvalidArgument naming the URI, which OpenFunc
// refuses too, without touching a file.
func FuzzPathOf(f *testing.F) {
	for _, s := range []string{
		"local://dev/kek.json", "local:///etc/fieldcrypt/kek.json", "local://", "local:/x", "", "LOCAL://x",
		"local://\x00", "local://../../x", "file:///x", "local://a b/ç.json",
	} {
		f.Add(s)
	}
	open := local.OpenFunc(nil)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, uri string) {
		path, err := local.PathOf(uri)
		if err != nil {
			var ke *kms.Error
			if !errors.As(err, &ke) || ke.Code != kms.CodeInvalidArgument || ke.KeyURI != uri || ke.Backend != local.Scheme {
				t.Fatalf("PathOf(%q) err = %#v, want a *kms.Error of CodeInvalidArgument naming the URI", uri, err)
			}
			if _, err := open(ctx, uri); !errors.Is(err, kms.ErrInvalidArgument) {
				t.Fatalf("OpenFunc(nil)(%q) err = %v, want ErrInvalidArgument", uri, err)
			}
			return
		}
		if path == "" || local.URI(path) != uri {
			t.Fatalf("PathOf(%q) = %q, whose URI is %q", uri, path, local.URI(path))
		}
	})
}
