package local_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/kmstest"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
)

func TestConformance(t *testing.T) {
	kmstest.Run(t, kmstest.Harness{NewKeeper: func(t *testing.T) *kms.Keeper {
		path := filepath.Join(t.TempDir(), "kek.json")
		uri, err := local.CreateInsecureKeyFile(path)
		if err != nil {
			t.Fatalf("CreateInsecureKeyFile() err = %v", err)
		}
		opener := kms.NewOpener()
		opener.Register(local.Scheme, local.OpenFunc(nil))
		kek, err := opener.Open(context.Background(), uri)
		if err != nil {
			t.Fatalf("Open(%q) err = %v", uri, err)
		}
		return kek
	}})
}

func TestRefusesProduction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kek.json")
	if _, err := local.CreateInsecureKeyFile(path); err != nil {
		t.Fatal(err)
	}
	for _, env := range []string{"production", "PROD"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(local.EnvVar, env)
			if _, err := local.OpenInsecure(path, nil); !errors.Is(err, local.ErrProduction) {
				t.Errorf("OpenInsecure() with %s=%s: err = %v, want ErrProduction", local.EnvVar, env, err)
			}
		})
	}
	t.Run("Options.Production", func(t *testing.T) {
		t.Setenv(local.EnvVar, "")
		if _, err := local.OpenInsecure(path, &local.Options{Production: true}); !errors.Is(err, local.ErrProduction) {
			t.Errorf("OpenInsecure(Production: true) err = %v, want ErrProduction", err)
		}
		if _, err := local.OpenInsecure(path, nil); err != nil {
			t.Errorf("OpenInsecure() in a development process err = %v", err)
		}
	})
}

func TestRefusesSharedKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kek.json")
	if _, err := local.CreateInsecureKeyFile(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := local.OpenInsecure(path, nil); !errors.Is(err, local.ErrInsecureKeyFile) {
		t.Errorf("OpenInsecure(mode 0644) err = %v, want ErrInsecureKeyFile", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.json")
	if err := os.WriteFile(garbage, []byte(`{"primaryKeyId": "secret-looking"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		path string
		want kms.Code
	}{
		{"missing file", filepath.Join(dir, "absent.json"), kms.CodeNotFound},
		{"not a keyset", garbage, kms.CodeInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := local.OpenInsecure(tc.path, nil)
			if got := kms.CodeOf(err); got != tc.want {
				t.Errorf("OpenInsecure() code = %v, want %v (err = %v)", got, tc.want, err)
			}
		})
	}
	if _, err := local.CreateInsecureKeyFile(garbage); err == nil {
		t.Errorf("CreateInsecureKeyFile(existing file) err = nil, want error")
	}
}

func TestStringHidesKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kek.json")
	if _, err := local.CreateInsecureKeyFile(path); err != nil {
		t.Fatal(err)
	}
	kek, err := local.OpenInsecure(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ks struct {
		Key []struct {
			KeyData struct {
				Value string `json:"value"`
			} `json:"keyData"`
		} `json:"key"`
	}
	if err := json.Unmarshal(raw, &ks); err != nil || len(ks.Key) == 0 || ks.Key[0].KeyData.Value == "" {
		t.Fatalf("key file is not the expected Tink JSON keyset: %v", err)
	}
	secret := ks.Key[0].KeyData.Value
	for _, s := range []string{fmt.Sprint(kek), fmt.Sprintf("%+v", kek), fmt.Sprintf("%#v", kek)} {
		if strings.Contains(s, secret) || strings.Contains(s, secret[:12]) {
			t.Errorf("formatting the KEK reveals its key material: %q", s)
		}
	}
}
