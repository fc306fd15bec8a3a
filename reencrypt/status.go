package reencrypt

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// Report is what Status found in one table: for each encrypted column, how
// many values sit under each key, read without decrypting anything.
type Report struct {
	Table    string         `json:"table"`
	Rows     int64          `json:"rows"`
	Columns  []ColumnStatus `json:"columns"`
	Duration time.Duration  `json:"-"`
}

// MarshalJSON adds the duration in seconds.
func (r *Report) MarshalJSON() ([]byte, error) {
	type plain Report
	return json.Marshal(struct {
		*plain
		Seconds float64 `json:"seconds"`
	}{(*plain)(r), r.Duration.Seconds()})
}

// ColumnStatus counts the values of one encrypted column.
type ColumnStatus struct {
	Column string `json:"column"`
	Class  string `json:"class"`
	// Keys counts values by (scope, key ID), sorted. Key IDs are per
	// keyset, and each scope has its own keysets.
	Keys []KeyCount `json:"keys"`
	// Legacy values are plaintext (not fieldcrypt values).
	Legacy int64 `json:"legacy"`
	// Empty values are NULL or empty; they are stored as they are.
	Empty int64 `json:"empty"`
	// Malformed values look like fieldcrypt values but are broken.
	Malformed int64 `json:"malformed"`
	// MissingScope counts encrypted values in rows whose scope is NULL or
	// empty.
	MissingScope int64 `json:"missing_scope,omitempty"`
}

// KeyCount is the number of values under one data key.
type KeyCount struct {
	Scope  string `json:"scope"`
	KeyID  uint32 `json:"key_id"`
	Values int64  `json:"values"`
}

// ErrIndexKeyUsage is returned by KeyUsage for an index keyset: a blind
// index value does not record the key that computed it. Before destroying
// an old index key, run the job to completion and check with Verify that
// every index is under the primary.
var ErrIndexKeyUsage = errors.New("reencrypt: blind-index values do not record their key; use Verify")

// statusBatch is how many rows Status reads at a time.
const statusBatch = 2000

// Status counts, for every encrypted column of table t, the values under
// each key ID and the legacy, empty and malformed ones. It reads only key
// IDs (crypt.InspectText, crypt.InspectBinary): it needs no key and
// decrypts nothing. It first checks (CheckColumns) that every configured
// column exists, and fails with a *ConfigError naming a missing one.
func Status(ctx context.Context, db *sql.DB, d Dialect, t Table) (*Report, error) {
	started := time.Now()
	if err := checkDialect(d); err != nil {
		return nil, err
	}
	if err := CheckColumns(ctx, db, d, t); err != nil {
		return nil, err
	}
	// Only the key, the scope and the encrypted columns are read.
	slim := Table{Name: t.Name, PrimaryKey: t.PrimaryKey, KeyType: t.KeyType,
		SchemaSpec: crypt.SchemaSpec{Record: t.Record, Scope: t.Scope, Fields: t.Fields}}
	l := newLayout(d, &slim)
	type counts struct {
		status ColumnStatus
		keys   map[KeyCount]int64 // Values zero
	}
	cols := make([]*counts, len(l.enc))
	for i, c := range l.enc {
		cols[i] = &counts{status: ColumnStatus{Column: c.column, Class: c.class}, keys: map[KeyCount]int64{}}
	}
	rep := &Report{Table: t.Name}
	var after any
	raw := make([]any, len(l.cols))
	ptrs := make([]any, len(raw))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	for {
		var args []any
		if after != nil {
			args = append(args, after)
		}
		rows, err := db.QueryContext(ctx, l.selectBatch(after != nil, false), append(args, int64(statusBatch))...)
		if err != nil {
			return nil, fmt.Errorf("reencrypt: status of %s: %w", t.Name, err)
		}
		n := 0
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return nil, fmt.Errorf("reencrypt: status of %s: %w", t.Name, err)
			}
			n++
			scope, err := l.scopeOf(raw)
			if err != nil {
				rows.Close()
				return nil, err
			}
			for i, c := range l.enc {
				st := &cols[i].status
				state, keyID := inspect(raw[c.pos], c.binary)
				switch state {
				case valueEmpty:
					st.Empty++
				case valueLegacy:
					st.Legacy++
				case valueMalformed:
					st.Malformed++
				case valueEncrypted:
					if scope == "" {
						st.MissingScope++
					}
					cols[i].keys[KeyCount{Scope: scope, KeyID: keyID}]++
				}
			}
			if after, err = keyValue(l.t.keyType(), raw[0]); err != nil {
				rows.Close()
				return nil, &ConfigError{Table: t.Name, Column: t.PrimaryKey, Msg: err.Error()}
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("reencrypt: status of %s: %w", t.Name, err)
		}
		rep.Rows += int64(n)
		if n < statusBatch {
			break
		}
	}
	for _, c := range cols {
		for k, v := range c.keys {
			k.Values = v
			c.status.Keys = append(c.status.Keys, k)
		}
		slices.SortFunc(c.status.Keys, func(a, b KeyCount) int {
			return cmp.Or(cmp.Compare(a.Scope, b.Scope), cmp.Compare(a.KeyID, b.KeyID))
		})
		rep.Columns = append(rep.Columns, c.status)
	}
	rep.Duration = time.Since(started)
	return rep, nil
}

// ValuesUnder counts the values of the report's columns of class that are
// under key keyID of scope's data keyset.
func (r *Report) ValuesUnder(scope, class string, keyID uint32) int64 {
	var n int64
	for _, c := range r.Columns {
		if c.Class != class {
			continue
		}
		for _, k := range c.Keys {
			if k.Scope == scope && k.KeyID == keyID {
				n += k.Values
			}
		}
	}
	return n
}

// KeyUsage counts the stored values under data key keyID of keyset id in
// the given tables (those with a column of id's class): the evidence to
// check before disabling or destroying a key. It fails with
// ErrIndexKeyUsage for an index keyset.
func KeyUsage(ctx context.Context, db *sql.DB, d Dialect, tables []Table, id keyring.KeysetID, keyID uint32) (int64, error) {
	if id.Purpose != keyring.PurposeData {
		return 0, ErrIndexKeyUsage
	}
	var n int64
	for _, t := range tables {
		uses := slices.ContainsFunc(t.Fields, func(c crypt.FieldSpec) bool { return c.DataClass() == id.Class })
		if !uses {
			continue
		}
		rep, err := Status(ctx, db, d, t)
		if err != nil {
			return 0, err
		}
		n += rep.ValuesUnder(id.Scope, id.Class, keyID)
	}
	return n, nil
}
