package cli_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/cmd/fieldcrypt/internal/cli"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/keyring/sqlstore"
)

// TestUnshred shreds a scope, shows that everything on it fails with
// ErrScopeShredded, refuses to bring it back without --yes, and brings it
// back with new keys under which the old data stays unreadable.
func TestUnshred(t *testing.T) {
	h := newHarness(t)
	h.mustRun(t, "keys", "init", "--scope", "acme")
	before := encryptContact(t, openKeyring(t, h.store, h.keks), "c1", "acme", "ann@acme.example")
	oldKeys := h.list(t, "--scope", "acme")
	h.mustRun(t, "keys", "shred", "--scope", "acme", "--yes")

	for _, k := range h.list(t, "--scope", "acme") {
		if k.Status != "shredded" {
			t.Errorf("keys list after shred: %+v, want status shredded", k)
		}
	}
	r := h.run(t, "keys", "add", "--scope", "acme", "--class", "pii")
	if r.code != cli.ExitFailed || !strings.Contains(r.stderr, "scope was shredded") || !strings.Contains(r.stderr, "keys unshred --scope acme --yes") {
		t.Errorf("keys add on a shredded scope: %v\nwant exit 1, scope was shredded, pointing to keys unshred", r)
	}
	if again := h.run(t, "keys", "shred", "--scope", "acme", "--yes"); again.code != cli.ExitOK || !strings.Contains(again.stdout, "already shredded") {
		t.Errorf("keys shred of a shredded scope: %v\nwant exit 0, already shredded", again)
	}

	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"without --yes", []string{"keys", "unshred", "--scope", "acme"}, cli.ExitFailed, "refused without --yes"},
		{"without --scope", []string{"keys", "unshred", "--yes"}, cli.ExitUsage, "--scope is required"},
		{"a scope never shredded", []string{"keys", "unshred", "--scope", "nobody", "--yes"}, cli.ExitFailed, "never shredded"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.run(t, tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("fieldcrypt %v: %v\nwant exit %d with %q", tc.args, r, tc.code, tc.want)
			}
		})
	}
	if ks := h.list(t, "--scope", "acme"); len(ks) == 0 || ks[0].Status != "shredded" {
		t.Fatalf("a refused unshred changed the scope: %+v", ks)
	}

	r = h.mustRun(t, "keys", "unshred", "--scope", "acme", "--yes")
	if !strings.Contains(r.stdout, "4 keysets created with new keys") {
		t.Errorf("keys unshred stdout = %q, want 4 keysets", r.stdout)
	}
	if !strings.Contains(r.stderr, "keyset unshredded") {
		t.Errorf("keys unshred wrote no audit event:\n%s", r.stderr)
	}
	newKeys := h.list(t, "--scope", "acme")
	if len(newKeys) != 4 {
		t.Fatalf("keys list after unshred = %+v, want 4 new keys", newKeys)
	}
	for _, k := range newKeys {
		for _, o := range oldKeys {
			if k.KeyID == o.KeyID {
				t.Errorf("unshred brought back old key %d of %s/%s", k.KeyID, k.Class, k.Purpose)
			}
		}
	}
	kr := openKeyring(t, h.store, h.keks)
	if _, err := decryptContact(kr, before); err == nil {
		t.Errorf("Decrypt(a value written before the shred) after unshred err = nil, want an error")
	}
	after := encryptContact(t, kr, "c2", "acme", "bob@acme.example")
	if got, err := decryptContact(kr, after); err != nil || got.Email != "bob@acme.example" {
		t.Errorf("Decrypt(a value written after unshred) = %q, %v", got.Email, err)
	}
	if r := h.run(t, "keys", "unshred", "--scope", "acme", "--yes"); r.code != cli.ExitFailed || !strings.Contains(r.stderr, "not shredded") {
		t.Errorf("keys unshred of a live scope: %v\nwant exit 1, not shredded", r)
	}
}

// storedKEK reads the KEK URI and version of a stored keyset straight from
// the store.
func storedKEK(t *testing.T, h *harness, id keyring.KeysetID) (string, int64) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+h.store)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store, err := sqlstore.New(db, sqlstore.SQLite, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := store.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("store.Get(%s) err = %v", id, err)
	}
	return rec.KEKURI, rec.Version
}

// TestMistypedKEKRefused is finding 5 of issue 7: during a KEK move, a
// --kek typo that names the support KEK for class pii made keys disable
// and keys add rewrap tenant t1's pii keysets under the support KEK. Both
// must now fail, name both KEKs, point to keys rewrap, and leave the
// keyset under its KEK, at its version.
func TestMistypedKEKRefused(t *testing.T) {
	h := newHarness(t)
	h.mustRun(t, "keys", "init", "--scope", "t1")
	h.mustRun(t, "keys", "add", "--scope", "t1", "--class", "pii")
	old := keysOf(h.list(t, "--scope", "t1"), "t1", "pii", "data")
	var added listed // the key to disable: enabled, not primary
	for _, k := range old {
		if !k.Primary {
			added = k
		}
	}
	newKEK := h.newKEK(t, "pii-new")
	typo := []string{"--kek", "pii=" + h.keks["support"]}
	// The other mistake of a KEK move: the new KEK configured, the old
	// one accepted for pii, and a key operation run before the rewrap.
	early := []string{"--kek", "pii=" + newKEK, "--accept-kek", "pii=" + h.keks["pii"]}
	cases := []struct {
		name  string
		flags []string
		args  []string
		want  []string
	}{
		{"disable, --kek typo", typo, []string{"keys", "disable", "--scope", "t1", "--class", "pii", "--key-id", itoa(added.KeyID)}, []string{h.keks["pii"], h.keks["support"]}},
		{"add, --kek typo", typo, []string{"keys", "add", "--scope", "t1", "--class", "pii"}, []string{h.keks["pii"], h.keks["support"]}},
		{"add before the rewrap", early, []string{"keys", "add", "--scope", "t1", "--class", "pii"}, []string{h.keks["pii"], newKEK}},
		{"disable before the rewrap", early, []string{"keys", "disable", "--scope", "t1", "--class", "pii", "--key-id", itoa(added.KeyID)}, []string{h.keks["pii"], newKEK}},
	}
	id := keyring.KeysetID{Scope: "t1", Class: "pii", Purpose: keyring.PurposeData}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			uri, version := storedKEK(t, h, id)
			r := h.run(t, append(tc.flags, tc.args...)...)
			if r.code != cli.ExitFailed {
				t.Fatalf("fieldcrypt %v: %v\nwant exit 1, refused", tc.args, r)
			}
			for _, want := range append(tc.want, "keys rewrap", "nothing was changed") {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("refusal lacks %q:\n%s", want, r.stderr)
				}
			}
			if got, v := storedKEK(t, h, id); got != uri || v != version {
				t.Errorf("t1/pii/data after a refused %s: KEK %s version %d, want KEK %s version %d", tc.name, got, v, uri, version)
			}
		})
	}
	if uri, _ := storedKEK(t, h, id); uri != h.keks["pii"] {
		t.Errorf("t1/pii/data under %s, want its own KEK %s", uri, h.keks["pii"])
	}
	if ks := keysOf(h.list(t, "--scope", "t1"), "t1", "pii", "data"); len(ks) != len(old) {
		t.Errorf("t1/pii/data keys after the refusals = %+v, want %+v", ks, old)
	}
}
