package gcpkms_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/gcpkms"
)

func TestKeyName(t *testing.T) {
	const name = "projects/acme-crm/locations/europe-west1/keyRings/crm_prod/cryptoKeys/pii-kek"
	got, err := gcpkms.KeyName("gcp-kms://" + name)
	if err != nil || got != name {
		t.Errorf("KeyName(gcp-kms://%s) = %q, %v; want %q, nil", name, got, err, name)
	}
	if uri := gcpkms.URI(name); uri != "gcp-kms://"+name {
		t.Errorf("URI(%q) = %q, want gcp-kms://%s", name, uri, name)
	}
	if got, err := gcpkms.KeyName("gcp-kms://projects/example.com:acme/locations/global/keyRings/r/cryptoKeys/k"); err != nil {
		t.Errorf("KeyName(domain-scoped project) = %q, %v; want no error", got, err)
	}
}

func TestKeyNameRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		uri  string
		want string // in the message
	}{
		{"wrong scheme", "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k", "scheme"},
		{"no scheme", "projects/p/locations/l/keyRings/r/cryptoKeys/k", "scheme"},
		{"empty", "gcp-kms://", "segments"},
		{"key ring only", "gcp-kms://projects/p/locations/l/keyRings/r", "segments"},
		{"version", "gcp-kms://projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/3", "CryptoKeyVersion"},
		{"misspelt segment", "gcp-kms://projects/p/locations/l/keyrings/r/cryptoKeys/k", `"keyrings"`},
		{"empty project", "gcp-kms://projects//locations/l/keyRings/r/cryptoKeys/k", "empty projects ID"},
		{"empty key", "gcp-kms://projects/p/locations/l/keyRings/r/cryptoKeys/", "empty cryptoKeys ID"},
		{"trailing slash", "gcp-kms://projects/p/locations/l/keyRings/r/cryptoKeys/k/", "segments"},
		{"query", "gcp-kms://projects/p/locations/l/keyRings/r/cryptoKeys/k?x=1", "URL punctuation"},
		{"space in project", "gcp-kms://projects/a b/locations/l/keyRings/r/cryptoKeys/k", "space"},
		{"bad key ring ID", "gcp-kms://projects/p/locations/l/keyRings/r.1/cryptoKeys/k", "key ring ID"},
		{"key ID too long", "gcp-kms://projects/p/locations/l/keyRings/r/cryptoKeys/" + strings.Repeat("k", 64), "crypto key ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := gcpkms.KeyName(tc.uri)
			if err == nil {
				t.Fatalf("KeyName(%q) = %q, nil; want error", tc.uri, got)
			}
			if code := kms.CodeOf(err); code != kms.CodeInvalidArgument {
				t.Errorf("KeyName(%q) code = %v, want %v", tc.uri, code, kms.CodeInvalidArgument)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("KeyName(%q) err = %q, want it to mention %s", tc.uri, err, tc.want)
			}
		})
	}
}

func TestOpenRejects(t *testing.T) {
	srv := startFake(t)
	good := gcpkms.URI("projects/p/locations/l/keyRings/r/cryptoKeys/k")
	for _, tc := range []struct {
		name string
		opts *gcpkms.Options
		uri  string
	}{
		{"malformed URI", fakeOptions(srv), "gcp-kms://projects/p"},
		{"insecure with credentials", &gcpkms.Options{Endpoint: srv.Addr(), Insecure: true}, good},
		{"no authentication and a key file", &gcpkms.Options{WithoutAuthentication: true, ServiceAccountKeyFile: "sa.json"}, good},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kek, err := gcpkms.OpenFunc(tc.opts)(context.Background(), tc.uri)
			if err == nil {
				closeKEK(t, kek)
				t.Fatalf("OpenFunc()(%q) err = nil, want error", tc.uri)
			}
			if code := kms.CodeOf(err); code != kms.CodeInvalidArgument {
				t.Errorf("OpenFunc()(%q) code = %v, want %v (err = %v)", tc.uri, code, kms.CodeInvalidArgument, err)
			}
		})
	}
	if _, err := gcpkms.New(nil, good, nil); kms.CodeOf(err) != kms.CodeInvalidArgument {
		t.Errorf("New(nil client) err = %v, want %v", err, kms.CodeInvalidArgument)
	}
}

// TestSharedClient checks that KEKs opened with Options.Client share the
// caller's client and leave it open when closed.
func TestSharedClient(t *testing.T) {
	srv := startFake(t)
	client := dial(t, srv)
	open := gcpkms.OpenFunc(&gcpkms.Options{Client: client})
	_, uriA := createKey(t, srv)
	_, uriB := createKey(t, srv)
	a, err := open(t.Context(), uriA)
	if err != nil {
		t.Fatalf("open(%q) err = %v", uriA, err)
	}
	b, err := open(t.Context(), uriB)
	if err != nil {
		t.Fatalf("open(%q) err = %v", uriB, err)
	}
	closeKEK(t, a)
	if _, err := b.EncryptWithContext(t.Context(), secretPlaintext, keysetAAD); err != nil {
		t.Errorf("EncryptWithContext() on a KEK sharing the client of a closed one: err = %v", err)
	}
}

func TestStringNamesKey(t *testing.T) {
	srv := startFake(t)
	kek, name := newKEK(t, srv, dial(t, srv), nil)
	if s := fmt.Sprint(kek); !strings.Contains(s, gcpkms.URI(name)) {
		t.Errorf("fmt.Sprint(kek) = %q, want it to name %s", s, gcpkms.URI(name))
	}
}

// TestOpenWithUnreadableKeyFile checks that credentials that cannot be read
// fail the open with a permanent CodePermissionDenied, and that the message
// does not quote the file's content.
func TestOpenWithUnreadableKeyFile(t *testing.T) {
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "not-json.json")
	const secret = "private_key=do-not-print-me"
	if err := os.WriteFile(notJSON, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	uri := gcpkms.URI("projects/p/locations/l/keyRings/r/cryptoKeys/k")
	for _, path := range []string{filepath.Join(dir, "absent.json"), notJSON} {
		kek, err := gcpkms.OpenFunc(&gcpkms.Options{ServiceAccountKeyFile: path})(t.Context(), uri)
		if err == nil {
			closeKEK(t, kek)
			t.Fatalf("OpenFunc(ServiceAccountKeyFile %s) err = nil, want error", filepath.Base(path))
		}
		if code := kms.CodeOf(err); code != kms.CodePermissionDenied {
			t.Errorf("OpenFunc(ServiceAccountKeyFile %s) code = %v, want %v (err = %v)", filepath.Base(path), code, kms.CodePermissionDenied, err)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("OpenFunc() err quotes the key file: %v", err)
		}
	}
}

// TestOpenFuncClientClosedWithKeeper checks that a Keeper opened with a
// client of its own (Options.Client nil) closes that client, and so its
// gRPC connection, when it is closed.
func TestOpenFuncClientClosedWithKeeper(t *testing.T) {
	srv := startFake(t)
	_, uri := createKey(t, srv)
	kek, err := gcpkms.OpenFunc(fakeOptions(srv))(t.Context(), uri)
	if err != nil {
		t.Fatalf("OpenFunc()(%q) err = %v", uri, err)
	}
	if _, err := kek.EncryptWithContext(t.Context(), secretPlaintext, keysetAAD); err != nil {
		t.Fatalf("EncryptWithContext() err = %v", err)
	}
	waitConns(t, srv, 1)
	closeKEK(t, kek)
	waitConns(t, srv, 0)
	if _, err := kek.EncryptWithContext(t.Context(), secretPlaintext, keysetAAD); !errors.Is(err, kms.ErrClosed) {
		t.Errorf("EncryptWithContext() after Close: err = %v, want kms.ErrClosed", err)
	}
}
