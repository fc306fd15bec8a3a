package reencrypt

import (
	"context"
	"fmt"
	"strconv"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// tokenValue converts a token read from a side table to an int64: drivers
// return BIGINT as int64, or (MySQL's text protocol) as decimal digits.
func tokenValue(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case []byte:
		return strconv.ParseInt(string(x), 10, 64)
	case string:
		return strconv.ParseInt(x, 10, 64)
	}
	return 0, fmt.Errorf("token holds a %T; want a BIGINT", v)
}

// tokensUnder returns the tokens of token index j for the plaintext row
// plain under each enabled key of the row's index keyset, primary first
// (crypt computes them; a scope without an index keyset is the keyring's
// ErrKeysetNotFound: examining never creates keysets).
func (x *examiner) tokensUnder(ctx context.Context, j int, plain crypt.Row) ([]crypt.Tokens, error) {
	return x.enc.RowTokenValues(ctx, x.schema, plain, x.l.t.Tokens[x.l.tok[j].spec].Name)
}
