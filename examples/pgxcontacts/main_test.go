package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/internal/testenv"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
)

// postgresSchema returns a DSN on a schema of the test's own.
func postgresSchema(t *testing.T) string { return testenv.PostgresSchema(t, "pgxcontacts_test") }

// TestRun runs the example end to end on PostgreSQL and checks what it
// shows.
func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(t.Context(), &out, postgresSchema(t)); err != nil {
		t.Fatalf("run() err = %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		`inserted 1000 contacts; the caller's first one still reads "person1@example.com"`,
		"stored e-mail of contact 42: fc1:",
		`find " Person42@Example.COM": 42 Person 42 <person42@example.com>`,
		"after the update: old e-mail finds no contact; new e-mail finds 42 Person 42 <ada@example.org>",
		"contacts after 40: 41 Person 41 <person41@example.com>, 42 Person 42 <ada@example.org>, 43 Person 43 <person43@example.com>",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

// TestContacts: the store's four operations on 1,000 contacts of two
// tenants. The table holds only ciphertexts, searches find exactly the
// contacts a plaintext comparison finds and never another tenant's, and
// the caller's structs keep their plaintext.
func TestContacts(t *testing.T) {
	ctx := t.Context()
	pool, err := pgxpool.New(ctx, postgresSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(ctx, contactsTable); err != nil {
		t.Fatal(err)
	}
	kek, err := local.CreateInsecureKeyFile(filepath.Join(t.TempDir(), "kek.json"))
	if err != nil {
		t.Fatal(err)
	}
	s, closeKeys, err := openContacts(ctx, pool, map[string]string{"pii": kek})
	if err != nil {
		t.Fatalf("openContacts err = %v", err)
	}
	t.Cleanup(func() { closeKeys() })

	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var all []Contact
	for i := range 1000 {
		tenant := []string{"acme", "globex"}[i%2]
		c := Contact{ID: int64(i + 1), TenantID: tenant, Name: fmt.Sprintf("Person %d", i+1),
			Email: fmt.Sprintf("person%d@example.com", i/2), Company: "Initech", CreatedAt: created}
		if i%5 == 0 {
			c.Phone = new(fmt.Sprintf("+1 555 %04d", i))
		}
		all = append(all, c)
	}
	if err := s.Insert(ctx, all); err != nil {
		t.Fatalf("Insert err = %v", err)
	}
	if all[0].Name != "Person 1" || all[0].EmailIdx != "" {
		t.Errorf("Insert changed the caller's contact: %+v", all[0])
	}

	var leaked int
	err = pool.QueryRow(ctx, `SELECT count(*) FROM contacts WHERE name LIKE 'Person%' OR email LIKE '%@%' OR phone LIKE '+%'`).Scan(&leaked)
	if err != nil || leaked != 0 {
		t.Errorf("rows holding plaintext = %d, %v; want 0", leaked, err)
	}

	// Each e-mail is held by one contact of each tenant.
	for _, q := range []string{"person0@example.com", " PERSON123@example.com", "Person499@Example.com ", "nobody@example.com"} {
		for _, tenant := range []string{"acme", "globex"} {
			var want []int64
			for _, c := range all {
				if c.TenantID == tenant && c.Email == strings.ToLower(strings.TrimSpace(q)) {
					want = append(want, c.ID)
				}
			}
			found, err := s.FindByEmail(ctx, tenant, q)
			if err != nil {
				t.Fatalf("FindByEmail(%s, %q) err = %v", tenant, q, err)
			}
			if got := ids(found); !slices.Equal(got, want) {
				t.Errorf("FindByEmail(%s, %q) = %v, want %v", tenant, q, got, want)
			}
			for _, c := range found {
				if w := all[c.ID-1]; c.Name != w.Name || c.Email != w.Email || !c.CreatedAt.Equal(w.CreatedAt) {
					t.Errorf("FindByEmail(%s, %q) returned %+v, want %+v", tenant, q, c, w)
				}
			}
		}
	}

	// Update moves the contact to its new e-mail's index value.
	c := all[245] // ID 246, of globex
	c.Email, c.Phone = "Grace@Example.org", nil
	if ok, err := s.Update(ctx, &c); err != nil || !ok {
		t.Fatalf("Update(%d) = %v, %v; want true", c.ID, ok, err)
	}
	if c.Email != "Grace@Example.org" || c.EmailIdx != "" {
		t.Errorf("Update changed the caller's contact: %+v", c)
	}
	if found, err := s.FindByEmail(ctx, c.TenantID, "grace@example.org"); err != nil || !slices.Equal(ids(found), []int64{c.ID}) {
		t.Errorf("FindByEmail(new e-mail) = %v, %v; want [%d]", ids(found), err, c.ID)
	}
	if found, err := s.FindByEmail(ctx, c.TenantID, all[245].Email); err != nil || len(found) != 0 {
		t.Errorf("FindByEmail(old e-mail) = %v, %v; want none", ids(found), err)
	}
	other := c
	other.TenantID = "initech"
	if ok, err := s.Update(ctx, &other); err != nil || ok {
		t.Errorf("Update(contact of another tenant) = %v, %v; want false", ok, err)
	}

	// List pages through a tenant in ID order.
	var listed []Contact
	for after := int64(0); ; {
		page, err := s.List(ctx, "globex", after, 128)
		if err != nil {
			t.Fatalf("List(after %d) err = %v", after, err)
		}
		if len(page) == 0 {
			break
		}
		listed = append(listed, page...)
		after = page[len(page)-1].ID
	}
	if len(listed) != 500 {
		t.Fatalf("List returned %d contacts of globex, want 500", len(listed))
	}
	for i, got := range listed {
		want := all[2*i+1]
		if want.ID == c.ID {
			want = c
		}
		if got.ID != want.ID || got.TenantID != "globex" || got.Name != want.Name || got.Email != want.Email ||
			!equalPhone(got.Phone, want.Phone) || got.Company != want.Company || !got.CreatedAt.Equal(want.CreatedAt) || got.EmailIdx == "" {
			t.Fatalf("List()[%d] = %+v, want %+v", i, got, want)
		}
	}

	// A ciphertext moved to another row does not decrypt.
	if _, err := pool.Exec(ctx, "UPDATE contacts SET name = (SELECT name FROM contacts WHERE id = 2) WHERE id = 4"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.List(ctx, "globex", 0, 10); !errors.Is(err, crypt.ErrDecrypt) {
		t.Errorf("List(after a ciphertext was moved) err = %v, want crypt.ErrDecrypt", err)
	}
}

func ids(cs []Contact) []int64 {
	out := []int64{}
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func equalPhone(a, b *string) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }
