package reencrypt

import (
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// FuzzStoredKey feeds arbitrary stored values to the decoders of keys and
// tokens read back from the database: primary keys and the range bounds and
// checkpoints the job tables keep (keyValue, keyString, runner.bound),
// identity and scope values (idText) and side-table tokens (tokenValue).
// None may panic; a key that is accepted round-trips through keyString, the
// form checkpoints store; a refused checkpoint is a *ConfigError that names
// the table, the key column and the stored value.
func FuzzStoredKey(f *testing.F) {
	f.Add("42", false, false)
	f.Add("42", true, true)
	f.Add("-9223372036854775808", false, false)
	f.Add("9223372036854775808", false, true)
	f.Add("+7", false, false)
	f.Add("007", false, true)
	f.Add("", false, false)
	f.Add(" 1", false, false)
	f.Add("0x10", false, false)
	f.Add("1_000", false, false)
	f.Add("é\xff", true, false)
	f.Fuzz(func(t *testing.T, s string, text, asBytes bool) {
		kt := KeyInteger
		if text {
			kt = KeyText
		}
		var raw any = s
		if asBytes {
			raw = []byte(s)
		}

		k, err := keyValue(kt, raw)
		switch {
		case err != nil:
			if k != nil {
				t.Fatalf("keyValue(%s, %q) = %v beside error %v", kt, s, k, err)
			}
			if text {
				t.Fatalf("keyValue(text, %q) err = %v: any text is a text key", s, err)
			}
			if !strings.Contains(err.Error(), strconv.Quote(s)) {
				t.Fatalf("keyValue(integer, %q) err = %q does not name the value", s, err)
			}
		case text:
			if k != s {
				t.Fatalf("keyValue(text, %q) = %#v, want the text itself", s, k)
			}
		default:
			n, ok := k.(int64)
			if !ok {
				t.Fatalf("keyValue(integer, %q) = %T, want int64", s, k)
			}
			if want, perr := strconv.ParseInt(s, 10, 64); perr != nil || n != want {
				t.Fatalf("keyValue(integer, %q) = %d; strconv says %d, %v", s, n, want, perr)
			}
			// The integer as the database hands it back.
			if k2, err := keyValue(kt, n); err != nil || k2 != k {
				t.Fatalf("keyValue(integer, int64 %d) = %#v, %v", n, k2, err)
			}
		}
		if err == nil {
			// A checkpoint stores keyString(k) and is read back through
			// keyValue: the same key, and a fixed point from there on.
			cp := keyString(k)
			k2, err := keyValue(kt, cp)
			if err != nil || k2 != k {
				t.Fatalf("checkpoint %q of key %#v reads back as %#v, %v", cp, k, k2, err)
			}
			if keyString(k2) != cp {
				t.Fatalf("keyString not stable: %q then %q", cp, keyString(k2))
			}
		}

		// The same value as a range bound or checkpoint of the job tables.
		r := &runner{l: &layout{t: &Table{Name: "contacts", PrimaryKey: "id", KeyType: kt}}}
		b, berr := r.bound(kt, sql.NullString{String: s, Valid: true})
		if (berr == nil) != (err == nil) || (berr == nil && b != k) {
			t.Fatalf("bound(%q) = %#v, %v; keyValue gave %#v, %v", s, b, berr, k, err)
		}
		if berr != nil {
			var ce *ConfigError
			if !errors.As(berr, &ce) || ce.Table != "contacts" || ce.Column != "id" {
				t.Fatalf("bound(%q) err = %T %v, want a *ConfigError naming contacts.id", s, berr, berr)
			}
		}
		if b, err := r.bound(kt, sql.NullString{String: s}); b != nil || err != nil {
			t.Fatalf("bound(NULL) = %#v, %v; want no bound", b, err)
		}

		// Identity and scope values: text as it is.
		if id, err := idText(raw); err != nil || id != s {
			t.Fatalf("idText(%q) = %q, %v", s, id, err)
		}

		// Tokens: BIGINT, or its decimal digits.
		tok, terr := tokenValue(raw)
		want, werr := strconv.ParseInt(s, 10, 64)
		if (terr == nil) != (werr == nil) || tok != want {
			t.Fatalf("tokenValue(%q) = %d, %v; strconv says %d, %v", s, tok, terr, want, werr)
		}
		if terr == nil {
			if tok2, err := tokenValue(tok); err != nil || tok2 != tok {
				t.Fatalf("tokenValue(int64 %d) = %d, %v", tok, tok2, err)
			}
			if id, err := idText(tok); err != nil || id != strconv.FormatInt(tok, 10) {
				t.Fatalf("idText(int64 %d) = %q, %v", tok, id, err)
			}
		}
	})
}
