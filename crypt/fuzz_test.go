package crypt_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// documentedErrors are the sentinels a Decrypt of stored values may match.
var documentedErrors = []error{
	crypt.ErrDecrypt, crypt.ErrMalformed, crypt.ErrNotEncrypted, crypt.ErrKeyNotFound,
	crypt.ErrKeyDisabled, crypt.ErrKeyDestroyed, crypt.ErrMissingScope, keyring.ErrInvalidName,
}

func isDocumented(err error) bool {
	for _, s := range documentedErrors {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// fuzzSeeds returns genuine stored values of a contact and broken variants
// of them.
func fuzzSeeds(t testing.TB, e *env) (c *Contact, text []string, bin [][]byte) {
	c = e.mustEncrypt(t, secretContact("c-1"))
	text = []string{"", "hello", "fc1:", "fc2:" + c.Email[4:], "fc1:!!", "fc10:x", c.Name, c.Email, *c.Phone,
		c.Email[:len(c.Email)-3], c.Email + "A", "fc1:" + base64.RawURLEncoding.EncodeToString(c.Notes[2:]),
		strings.ToUpper(c.Email), c.Email[:20] + "\n" + c.Email[20:]}
	bin = [][]byte{nil, {}, {0xfc}, {0xfc, 0x01}, {0xfc, 0x02, 0x01, 0, 0, 0, 1}, c.Notes, c.Notes[:10],
		append(bytes.Clone(c.Notes), 0), []byte(c.Email)}
	return c, text, bin
}

// FuzzInspectText feeds arbitrary strings to InspectText and to Decrypt as a
// contact's Email: never a panic, only documented errors, and a value that
// inspects as valid has exactly one encoding.
func FuzzInspectText(f *testing.F) {
	e := newEnv(f)
	genuine, text, _ := fuzzSeeds(f, e)
	for _, s := range text {
		f.Add(s)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, s string) {
		info, err := crypt.InspectText(s)
		if err != nil {
			if !errors.Is(err, crypt.ErrNotEncrypted) && !errors.Is(err, crypt.ErrMalformed) {
				t.Fatalf("InspectText(%q) err = %v, want ErrNotEncrypted or ErrMalformed", s, err)
			}
		} else {
			ct, perr := parseStoredText(s)
			if perr != nil {
				t.Fatalf("InspectText(%q) accepted a value the FORMAT.md reader rejects: %v", s, perr)
			}
			if again := "fc1:" + base64.RawURLEncoding.EncodeToString(ct); again != s {
				t.Fatalf("InspectText(%q) accepted a non-canonical encoding (canonical %q)", s, again)
			}
			if info.Version != 1 || info.Binary || len(ct) < 5 || ct[0] != 1 {
				t.Fatalf("InspectText(%q) = %+v for ciphertext %x", s, info, ct)
			}
		}
		c := &Contact{ID: "c-1", TenantID: "acme", Email: s}
		err = e.enc.Decrypt(ctx, c)
		switch {
		case err == nil && s == genuine.Email:
			if c.Email != secretEmail {
				t.Fatalf("Decrypt(genuine Email) = %q, want %q", c.Email, secretEmail)
			}
		case err == nil && s != "":
			t.Fatalf("Decrypt(Email=%q) err = nil, want an error: only genuine values decrypt", s)
		case err != nil && !isDocumented(err):
			t.Fatalf("Decrypt(Email=%q) err = %v, not a documented error", s, err)
		case err != nil && c.Email != s:
			t.Fatalf("Decrypt(Email=%q) failed but changed the field to %q", s, c.Email)
		}
	})
}

// FuzzDecodeValue feeds arbitrary bytes to InspectBinary and to Decrypt as a
// contact's Notes.
func FuzzDecodeValue(f *testing.F) {
	e := newEnv(f)
	genuine, _, bin := fuzzSeeds(f, e)
	for _, b := range bin {
		f.Add(b)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := crypt.InspectBinary(b)
		if err != nil {
			if !errors.Is(err, crypt.ErrNotEncrypted) && !errors.Is(err, crypt.ErrMalformed) {
				t.Fatalf("InspectBinary(%x) err = %v, want ErrNotEncrypted or ErrMalformed", b, err)
			}
		} else if len(b) < 7 || b[0] != 0xfc || b[1] != 0x01 || b[2] != 0x01 || !info.Binary || info.Version != 1 {
			t.Fatalf("InspectBinary(%x) = %+v, want an error", b, info)
		}
		orig := bytes.Clone(b)
		c := &Contact{ID: "c-1", TenantID: "acme", Notes: b}
		err = e.enc.Decrypt(ctx, c)
		switch {
		case err == nil && bytes.Equal(orig, genuine.Notes):
			if string(c.Notes) != secretNotes {
				t.Fatalf("Decrypt(genuine Notes) = %q, want %q", c.Notes, secretNotes)
			}
		case err == nil && len(b) > 0:
			t.Fatalf("Decrypt(Notes=%x) err = nil, want an error: only genuine values decrypt", b)
		case err != nil && !isDocumented(err):
			t.Fatalf("Decrypt(Notes=%x) err = %v, not a documented error", b, err)
		case err != nil && !bytes.Equal(c.Notes, orig):
			t.Fatalf("Decrypt(Notes=%x) failed but changed the field", orig)
		}
	})
}

// FuzzDecryptStruct fills every field of a Contact with arbitrary contents,
// seeded with genuine ciphertexts: Decrypt never panics, returns nil only if
// every non-empty value is the genuine ciphertext of that very field of that
// record, and otherwise leaves the record unchanged.
func FuzzDecryptStruct(f *testing.F) {
	e := newEnv(f)
	genuine := e.mustEncrypt(f, secretContact("c-1"))
	// want maps a genuine stored value to its plaintext, per field.
	want := map[string]map[string]string{
		"Name":  {genuine.Name: secretName},
		"Email": {genuine.Email: secretEmail},
		"Phone": {*genuine.Phone: secretPhone},
		"Notes": {string(genuine.Notes): secretNotes},
	}
	f.Add("c-1", "acme", genuine.Name, genuine.Email, genuine.EmailIdx, true, *genuine.Phone, "", genuine.Notes)
	f.Add("c-1", "acme", genuine.Email, genuine.Name, "", false, "", "x", genuine.Notes[:30])
	f.Add("c-2", "acme", genuine.Name, genuine.Email, "", true, *genuine.Phone, "", genuine.Notes)
	f.Add("c-1", "globex", genuine.Name, "", "", false, "", "", []byte(nil))
	f.Add("c-1", "", genuine.Name, "", "", false, "", "", []byte(nil))
	f.Add("c-1", "ac/me", genuine.Name, "", "", false, "", "", []byte(nil))
	f.Add("", "acme", "", "", "", false, "", "", []byte{})
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, id, tenant, name, email, emailIdx string, hasPhone bool, phone, phoneIdx string, notes []byte) {
		in := &Contact{ID: id, TenantID: tenant, Name: name, Email: email, EmailIdx: emailIdx, PhoneIdx: phoneIdx, Notes: notes}
		if hasPhone {
			in.Phone = ptr(phone)
		}
		c := clone(in)
		err := e.enc.Decrypt(ctx, c)
		if err != nil {
			if !isDocumented(err) {
				t.Fatalf("Decrypt(%+v) err = %v, not a documented error", in, err)
			}
			if !recordsEqual(in, c) {
				t.Fatalf("Decrypt(%+v) failed (%v) but changed the record to %+v", in, err, c)
			}
			return
		}
		// Success: every non-empty value was genuine for this record.
		isGenuineRecord := id == "c-1" && tenant == "acme"
		check := func(field, stored, got string) {
			if stored == "" {
				if got != "" {
					t.Fatalf("Decrypt turned empty %s into %q", field, got)
				}
				return
			}
			pt, ok := want[field][stored]
			if !ok || !isGenuineRecord {
				t.Fatalf("Decrypt(%+v) err = nil, but %s = %q is not a genuine ciphertext of this record and field", in, field, stored)
			}
			if got != pt {
				t.Fatalf("Decrypt: %s = %q, want %q", field, got, pt)
			}
		}
		check("Name", name, c.Name)
		check("Email", email, c.Email)
		if hasPhone {
			check("Phone", phone, *c.Phone)
		} else if c.Phone != nil {
			t.Fatalf("Decrypt turned a nil Phone into %q", *c.Phone)
		}
		check("Notes", string(notes), string(c.Notes))
		if c.EmailIdx != emailIdx || c.PhoneIdx != phoneIdx || c.ID != id || c.TenantID != tenant {
			t.Fatalf("Decrypt changed fields it does not own: %+v", c)
		}
	})
}

// recordsEqual compares two contacts field by field (nil and empty Notes
// differ).
func recordsEqual(a, b *Contact) bool {
	if (a.Phone == nil) != (b.Phone == nil) || a.Phone != nil && *a.Phone != *b.Phone {
		return false
	}
	if (a.Notes == nil) != (b.Notes == nil) || !bytes.Equal(a.Notes, b.Notes) {
		return false
	}
	return a.ID == b.ID && a.TenantID == b.TenantID && a.Name == b.Name && a.Email == b.Email &&
		a.EmailIdx == b.EmailIdx && a.PhoneIdx == b.PhoneIdx
}
