package vault_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/vault"
)

func TestOptionsDoNotPrintSecrets(t *testing.T) {
	opts := &vault.Options{
		Address: "https://vault.example:8200",
		Token:   "hvs.TOKEN-SECRET",
		AppRole: &vault.AppRole{RoleID: "role-1", SecretID: "SECRET-ID-SECRET"},
	}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{opts, *opts, opts.AppRole, *opts.AppRole} {
			out := fmt.Sprintf(format, v)
			if strings.Contains(out, "SECRET") {
				t.Errorf("Sprintf(%q, %T) = %s, which shows a secret", format, v, out)
			}
		}
	}
	if out := fmt.Sprint(opts); !strings.Contains(out, "vault.example") || !strings.Contains(out, "role-1") {
		t.Errorf("Sprint(opts) = %s, want the address and role ID", out)
	}
}

func TestDialBadOptions(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.pem")
	for _, tc := range []struct {
		name string
		opts vault.Options
	}{
		{"missing CA file", vault.Options{Address: "https://127.0.0.1:1", TLS: &vault.TLS{CACert: missing}}},
		{"client cert without key", vault.Options{Address: "https://127.0.0.1:1", TLS: &vault.TLS{ClientCert: missing}}},
		{"missing client cert files", vault.Options{Address: "https://127.0.0.1:1", TLS: &vault.TLS{ClientCert: missing, ClientKey: missing}}},
		{"bad address", vault.Options{Address: "://nope"}},
		{"AppRole without role ID", vault.Options{Address: "http://127.0.0.1:1", AppRole: &vault.AppRole{SecretID: "s"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := vault.Dial(context.Background(), &tc.opts)
			if err == nil {
				conn.Close()
				t.Fatalf("Dial(%v) err = nil, want error", tc.opts)
			}
			if !errors.Is(err, kms.ErrInvalidArgument) {
				t.Errorf("Dial(%v) err = %v, want ErrInvalidArgument", tc.opts, err)
			}
		})
	}
}
