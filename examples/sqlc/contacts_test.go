package sqlc_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/examples/sqlc"
	"github.com/fieldcrypt/fieldcrypt/examples/sqlc/contactsdb"
	"github.com/fieldcrypt/fieldcrypt/internal/testenv"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
)

// openPool creates a schema on the test server holding schema.sql's
// tables, and returns a pool whose search_path is that schema; the schema
// is dropped at cleanup.
func openPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), testenv.PostgresSchema(t, "sqlc_test"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	ddl, err := os.ReadFile("schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(t.Context(), string(ddl)); err != nil {
		t.Fatalf("schema.sql: %v", err)
	}
	return pool
}

type env struct {
	pool  *pgxpool.Pool
	enc   *crypt.Encryptor
	admin *keyring.Manager
	s     *sqlc.Contacts
}

func newEnv(t *testing.T) *env {
	t.Helper()
	kek, err := local.CreateInsecureKeyFile(filepath.Join(t.TempDir(), "kek.json"))
	if err != nil {
		t.Fatal(err)
	}
	opener := kms.NewOpener()
	opener.Register(local.Scheme, local.OpenFunc(nil))
	kr, err := keyring.New(keyring.Config{Store: keyring.NewMemoryStore(), Opener: opener, KEKs: map[string]string{"pii": kek}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kr.Close() })
	e := &env{pool: openPool(t), enc: crypt.New(kr, nil), admin: keyring.NewManager(kr)}
	e.s = sqlc.New(contactsdb.New(e.pool), e.enc)
	return e
}

func contact(tenant string, id int64, email string) contactsdb.Contact {
	c := contactsdb.Contact{ID: id, TenantID: tenant, Name: fmt.Sprintf("Person %d", id), Email: email,
		Company: "Initech", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	if id%2 == 0 {
		phone := fmt.Sprintf("+1 555 %04d", id)
		c.Phone = &phone
	}
	return c
}

// same reports whether got, read back, holds what want was written with:
// its computed index aside, and its time in any location.
func same(got, want contactsdb.Contact) bool {
	got.CreatedAt = got.CreatedAt.UTC()
	want.CreatedAt = want.CreatedAt.UTC()
	want.EmailIdx = got.EmailIdx
	return reflect.DeepEqual(got, want)
}

func ids(cs []contactsdb.Contact) []int64 {
	out := []int64{}
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

// TestGeneratedTags: the tags sqlc.yaml puts on the generated struct make
// a valid record, with the blind index width the planner picks.
func TestGeneratedTags(t *testing.T) {
	if err := crypt.Validate(&contactsdb.Contact{}); err != nil {
		t.Fatalf("Validate(contactsdb.Contact) err = %v", err)
	}
	spec, err := crypt.SchemaOf(contactsdb.Contact{})
	if err != nil {
		t.Fatalf("SchemaOf(contactsdb.Contact) err = %v", err)
	}
	if spec.Record != "Contact" || spec.Scope != "tenant_id" || len(spec.Fields) != 3 || len(spec.Indexes) != 1 || spec.Indexes[0].Column != "email_idx" {
		t.Errorf("SchemaOf(contactsdb.Contact) = %+v, want record Contact, scope tenant_id, 3 encrypted columns and email_idx", spec)
	}
}

// TestRoundTrip: contacts written through the generated queries are
// ciphertext in the table and plaintext again through Get, List and
// FindByEmail; Update moves a contact to its new e-mail.
func TestRoundTrip(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	var want []contactsdb.Contact
	for i := range int64(30) {
		tenant := []string{"acme", "globex"}[i%2]
		want = append(want, contact(tenant, i+1, fmt.Sprintf("person%d@example.com", i/2)))
	}
	for _, c := range want {
		if err := e.s.Create(ctx, c); err != nil {
			t.Fatalf("Create(%d) err = %v", c.ID, err)
		}
	}
	if want[0].Name != "Person 1" || want[0].EmailIdx != "" {
		t.Errorf("Create changed the caller's contact: %+v", want[0])
	}

	var name, email string
	var phone *string
	if err := e.pool.QueryRow(ctx, "SELECT name, email, phone FROM contacts WHERE id = 2").Scan(&name, &email, &phone); err != nil {
		t.Fatal(err)
	}
	for _, stored := range []string{name, email, *phone} {
		if _, err := crypt.InspectText(stored); err != nil {
			t.Errorf("stored value %.16q...: InspectText err = %v, want a ciphertext", stored, err)
		}
	}

	got, err := e.s.Get(ctx, "globex", 2)
	if err != nil {
		t.Fatalf("Get(globex, 2) err = %v", err)
	}
	if !same(got, want[1]) || got.EmailIdx == "" {
		t.Errorf("Get(globex, 2) = %+v, want %+v", got, want[1])
	}
	if _, err := e.s.Get(ctx, "acme", 2); err == nil {
		t.Error("Get(acme, 2) err = nil, want no rows (contact 2 is globex's)")
	}

	list, err := e.s.List(ctx, "acme", 0, 100)
	if err != nil || len(list) != 15 {
		t.Fatalf("List(acme) = %d contacts, %v; want 15", len(list), err)
	}
	for i, c := range list {
		if !same(c, want[2*i]) {
			t.Errorf("List(acme)[%d] = %+v, want %+v", i, c, want[2*i])
		}
	}

	for _, tc := range []struct {
		tenant, email string
		want          []int64
	}{
		{"acme", " Person3@Example.COM", []int64{7}},
		{"globex", "person3@example.com", []int64{8}},
		{"acme", "nobody@example.com", []int64{}},
		{"initech", "person3@example.com", []int64{}}, // no keysets
	} {
		found, err := e.s.FindByEmail(ctx, tc.tenant, tc.email)
		if err != nil || !slices.Equal(ids(found), tc.want) {
			t.Errorf("FindByEmail(%s, %q) = %v, %v; want %v", tc.tenant, tc.email, ids(found), err, tc.want)
		}
	}

	c := want[6] // ID 7, acme
	c.Email = "grace@example.org"
	if ok, err := e.s.Update(ctx, c); err != nil || !ok {
		t.Fatalf("Update(7) = %v, %v; want true", ok, err)
	}
	if found, err := e.s.FindByEmail(ctx, "acme", "GRACE@example.org"); err != nil || !slices.Equal(ids(found), []int64{7}) {
		t.Errorf("FindByEmail(new e-mail) = %v, %v; want [7]", ids(found), err)
	}
	if found, err := e.s.FindByEmail(ctx, "acme", "person3@example.com"); err != nil || len(found) != 0 {
		t.Errorf("FindByEmail(old e-mail) = %v, %v; want none", ids(found), err)
	}
}

// TestFindAcrossIndexKeyRotation: contacts written before and after a new
// index key is promoted are both found through the generated query.
func TestFindAcrossIndexKeyRotation(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	if err := e.s.Create(ctx, contact("acme", 1, "ada@example.com")); err != nil {
		t.Fatal(err)
	}
	id := keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeIndex}
	keyID, err := e.admin.AddKey(ctx, id)
	if err == nil {
		err = e.admin.PromoteKey(ctx, id, keyID)
	}
	if err != nil {
		t.Fatalf("rotating %v: %v", id, err)
	}
	if err := e.s.Create(ctx, contact("acme", 2, "Ada@Example.com")); err != nil {
		t.Fatal(err)
	}
	found, err := e.s.FindByEmail(ctx, "acme", "ada@example.com")
	if err != nil || !slices.Equal(ids(found), []int64{1, 2}) {
		t.Errorf("FindByEmail after rotation = %v, %v; want [1 2]", ids(found), err)
	}
}

// TestParamsAreAnotherRecord: the generated Params structs carry the
// crypt tags too, but their type name is another record type: values
// encrypted as a CreateContactParams do not decrypt as a Contact. The
// store encrypts Contacts only.
func TestParamsAreAnotherRecord(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	p := contactsdb.CreateContactParams(contact("acme", 1, "ada@example.com"))
	if err := e.enc.Encrypt(ctx, &p); err != nil {
		t.Fatalf("Encrypt(CreateContactParams) err = %v", err)
	}
	if err := contactsdb.New(e.pool).CreateContact(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Get(ctx, "acme", 1); !errors.Is(err, crypt.ErrDecrypt) {
		t.Errorf("Get(a row encrypted as CreateContactParams) err = %v, want crypt.ErrDecrypt", err)
	}
}

// TestMovedCiphertext: a ciphertext copied into another row does not
// decrypt.
func TestMovedCiphertext(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	for id := range int64(2) {
		if err := e.s.Create(ctx, contact("acme", id+1, fmt.Sprintf("p%d@example.com", id))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.pool.Exec(ctx, "UPDATE contacts SET email = (SELECT email FROM contacts WHERE id = 1) WHERE id = 2"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.List(ctx, "acme", 0, 10); !errors.Is(err, crypt.ErrDecrypt) {
		t.Errorf("List(after a ciphertext was moved) err = %v, want crypt.ErrDecrypt", err)
	}
}
