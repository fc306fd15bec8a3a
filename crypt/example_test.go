package crypt_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
)

// Customer is the record type of the examples.
type Customer struct {
	_        struct{} `crypt:"record=customer"`
	ID       string   `crypt:"id"`
	TenantID string   `crypt:"scope"`
	Name     string   `crypt:"encrypt,class=pii"`
	Email    string   `crypt:"encrypt,class=pii"`
	EmailIdx string   `crypt:"blind=Email,transform=lower+trim,bits=32"`
	Notes    []byte   `crypt:"encrypt,class=support"`
}

// exampleKeyring returns a keyring on a memory store whose keysets are
// wrapped by a local development KEK in a temporary directory. Production
// code opens a Vault Transit, Google Cloud KMS or AWS KMS KEK instead, and
// keeps its keysets in keyring/sqlstore or keyring/filestore.
func exampleKeyring(autoCreate bool) (kr *keyring.Keyring, cleanup func()) {
	dir, err := os.MkdirTemp("", "fieldcrypt-example")
	if err != nil {
		log.Fatal(err)
	}
	uri, err := local.CreateInsecureKeyFile(filepath.Join(dir, "kek.json"))
	if err != nil {
		log.Fatal(err)
	}
	opener := kms.NewOpener()
	opener.Register(local.Scheme, local.OpenFunc(nil))
	kr, err = keyring.New(keyring.Config{
		Store:             keyring.NewMemoryStore(),
		Opener:            opener,
		DefaultKEK:        uri,
		DisableAutoCreate: !autoCreate,
	})
	if err != nil {
		log.Fatal(err)
	}
	return kr, func() { os.RemoveAll(dir) }
}

func ExampleEncryptor_Encrypt() {
	ctx := context.Background()
	kr, cleanup := exampleKeyring(true)
	defer cleanup()
	enc := crypt.New(kr, nil)

	c := &Customer{ID: "cus-1", TenantID: "acme", Name: "Ada Lovelace", Email: "Ada@Example.com", Notes: []byte("prefers e-mail")}
	if err := enc.Encrypt(ctx, c); err != nil {
		log.Fatal(err)
	}
	// c is ready for INSERT: its tagged fields hold ciphertexts.
	fmt.Println("name:", c.Name[:4], "...", c.Name != "Ada Lovelace")
	fmt.Printf("notes: % x ...\n", c.Notes[:2])
	fmt.Println("email index:", len(c.EmailIdx), "hex digits")
	info, err := crypt.InspectText(c.Email)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("format version:", info.Version)

	// After SELECT:
	if err := enc.Decrypt(ctx, c); err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Name, c.Email, string(c.Notes))
	// Output:
	// name: fc1: ... true
	// notes: fc 01 ...
	// email index: 8 hex digits
	// format version: 1
	// Ada Lovelace Ada@Example.com prefers e-mail
}

func ExampleEncryptor_BlindIndexValues() {
	ctx := context.Background()
	kr, cleanup := exampleKeyring(true)
	defer cleanup()
	enc := crypt.New(kr, nil)

	ada := &Customer{ID: "cus-1", TenantID: "acme", Email: "Ada@Example.com"}
	grace := &Customer{ID: "cus-2", TenantID: "acme", Email: "grace@example.com"}
	for _, c := range []*Customer{ada, grace} {
		if err := enc.Encrypt(ctx, c); err != nil { // then INSERT
			log.Fatal(err)
		}
	}

	// Look Ada up by e-mail address: the index's transforms (lower+trim)
	// apply to the query too.
	vals, err := enc.BlindIndexValues(ctx, &Customer{TenantID: "acme", Email: " ADA@example.com"}, "EmailIdx")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("SELECT ... WHERE tenant_id = 'acme' AND email_idx IN (%s)\n", strings.Repeat("?", len(vals)))
	fmt.Println("finds Ada:", slices.Contains(vals, ada.EmailIdx))
	fmt.Println("finds Grace:", slices.Contains(vals, grace.EmailIdx))
	// Output:
	// SELECT ... WHERE tenant_id = 'acme' AND email_idx IN (?)
	// finds Ada: true
	// finds Grace: false
}

// A security team creates a tenant's keysets ahead of first use, then
// rotates a data key in two phases.
func Example_keyCreation() {
	ctx := context.Background()
	kr, cleanup := exampleKeyring(false) // no keysets are created implicitly
	defer cleanup()
	admin := keyring.NewManager(kr) // key administration; Encrypt and Decrypt need only kr

	if err := admin.CreateKeysets(ctx, "acme", "pii", "support"); err != nil {
		log.Fatal(err)
	}
	pii := keyring.KeysetID{Scope: "acme", Class: "pii", Purpose: keyring.PurposeData}
	list := func(when string) {
		keys, err := admin.Keys(ctx, pii)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(when)
		for i, k := range keys {
			fmt.Printf("  key %d: %s, primary %t\n", i+1, k.Status, k.Primary)
		}
	}
	list("after CreateKeysets:")

	newKey, err := admin.AddKey(ctx, pii) // phase 1: enabled, not primary
	if err != nil {
		log.Fatal(err)
	}
	list("after AddKey:")
	if err := admin.PromoteKey(ctx, pii, newKey); err != nil { // phase 2, after the cache TTL
		log.Fatal(err)
	}
	list("after PromoteKey:")

	// The keysets exist, so Encrypt works without auto-creation.
	c := &Customer{ID: "cus-1", TenantID: "acme", Name: "Ada Lovelace"}
	if err := crypt.New(kr, nil).Encrypt(ctx, c); err != nil {
		log.Fatal(err)
	}
	info, err := crypt.InspectText(c.Name)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("encrypted under the new key:", info.KeyID == newKey)
	// Output:
	// after CreateKeysets:
	//   key 1: enabled, primary true
	// after AddKey:
	//   key 1: enabled, primary true
	//   key 2: enabled, primary false
	// after PromoteKey:
	//   key 1: enabled, primary false
	//   key 2: enabled, primary true
	// encrypted under the new key: true
}
