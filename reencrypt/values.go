package reencrypt

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// Drivers hand back column values as database/sql driver values: text as
// string (pgx, SQLite) or []byte (MySQL), integers as int64 (or, from
// MySQL's text protocol, []byte digits), NULL as nil.

// textOf returns a text value and whether it is not NULL.
func textOf(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []byte:
		return string(x), true
	}
	return "", false
}

// idText returns an identity or scope value in crypt's canonical text
// form: strings as they are, integers in decimal.
func idText(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	}
	return "", fmt.Errorf("holds a %T; want text or an integer", v)
}

// keyValue normalises a primary-key value to the Go type the database
// compares it as: int64 for integer keys, string for text keys (SQLite
// orders a []byte parameter after every text value, and paging would stop
// after the first batch).
func keyValue(kt KeyType, v any) (any, error) {
	switch x := v.(type) {
	case int64:
		if kt == KeyInteger {
			return x, nil
		}
		return strconv.FormatInt(x, 10), nil
	case string:
		if kt == KeyText {
			return x, nil
		}
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("integer primary key holds %q", x)
		}
		return n, nil
	case []byte:
		return keyValue(kt, string(x))
	case nil:
		return nil, errors.New("primary key is NULL")
	}
	return nil, fmt.Errorf("primary key holds a %T; want an integer or text", v)
}

// keyString is the text form of a normalised key, as checkpoints keep it.
func keyString(v any) string {
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// valueState is what a stored encrypted value is, read without
// decrypting it.
type valueState uint8

const (
	valueEmpty     valueState = iota // NULL or empty
	valueEncrypted                   // a fieldcrypt value; its key ID is known
	valueLegacy                      // not a fieldcrypt value: legacy plaintext
	valueMalformed                   // looks like a fieldcrypt value but is broken
)

// inspect classifies a stored value of an encrypted column.
func inspect(v any, binary bool) (valueState, uint32) {
	var info crypt.ValueInfo
	var err error
	switch x := v.(type) {
	case nil:
		return valueEmpty, 0
	case string:
		if x == "" {
			return valueEmpty, 0
		}
		if binary {
			info, err = crypt.InspectBinary([]byte(x))
		} else {
			info, err = crypt.InspectText(x)
		}
	case []byte:
		if len(x) == 0 {
			return valueEmpty, 0
		}
		if binary {
			info, err = crypt.InspectBinary(x)
		} else {
			info, err = crypt.InspectText(string(x))
		}
	default:
		return valueMalformed, 0
	}
	switch {
	case err == nil:
		return valueEncrypted, info.KeyID
	case errors.Is(err, crypt.ErrNotEncrypted):
		return valueLegacy, 0
	}
	return valueMalformed, 0
}

// encValue converts a stored encrypted-column value to what crypt.Row
// wants: string for text columns, []byte for binary ones, nil for NULL.
func encValue(v any, binary bool) any {
	switch x := v.(type) {
	case string:
		if binary {
			return []byte(x)
		}
		return x
	case []byte:
		if binary {
			return x
		}
		return string(x)
	}
	return nil
}
