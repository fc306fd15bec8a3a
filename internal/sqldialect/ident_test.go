package sqldialect_test

import (
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/internal/sqldialect"
)

func TestCheckTable(t *testing.T) {
	for name, ok := range map[string]bool{
		"keysets":                      true,
		"crypto.fieldcrypt_keysets":    true,
		"_Keysets2":                    true,
		strings.Repeat("k", 63):        true,
		"a." + strings.Repeat("k", 63): true,
		"":                             false,
		strings.Repeat("k", 64):        false,
		"1keysets":                     false,
		"a.b.c":                        false,
		".keysets":                     false,
		"crypto.":                      false,
		"key sets":                     false,
		"key-sets":                     false,
		`keysets"; DROP TABLE x; --`:   false,
		"keysets`":                     false,
		"keysets;":                     false,
		"keysets?":                     false,
		"clés":                         false,
	} {
		err := sqldialect.CheckTable(name)
		if ok != (err == nil) {
			t.Errorf("CheckTable(%q) err = %v, want ok = %v", name, err, ok)
		}
		if !strings.Contains(name, ".") && (sqldialect.CheckIdent(name) == nil) != ok {
			t.Errorf("CheckIdent(%q) disagrees with CheckTable", name)
		}
	}
}
