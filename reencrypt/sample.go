package reencrypt

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// The drift check's sample: driftPages pages of driftPageRows rows.
const (
	driftPages    = 4
	driftPageRows = 16
)

// sampleRows reads up to driftPages×driftPageRows rows of the table, each
// once, for the drift check. The pages are spread over the key order: the
// first rows, the last rows, and the rows after the points a third and two
// thirds of the way. Why not the first rows only:
//
//   - The first rows by key are usually the oldest (written by an older
//     version of the application, or migrated) and the last the newest,
//     written by the code the configuration must match today.
//   - A job walks the table in key order. When it resumes, the first rows
//     were rewritten by the job itself, from the configuration: a sample of
//     them would agree with any configuration. The last rows are the
//     application's, until the job reaches them.
//
// Every page is an index range scan on the primary key that fetches its
// own rows only. Integer keys find their inner points from MIN and MAX
// (WHERE key > point ORDER BY key LIMIT n): a few small reads whatever the
// table's size. Text keys cannot be split by arithmetic: a COUNT, then for
// each inner point a walk of the key alone (ORDER BY key LIMIT 1 OFFSET m,
// which the database can answer from the key's index without reading the
// rows) finds the key the page starts after; that is at most two thirds of
// the key index, less than the job's own planning walk. The sample is
// deterministic: the same table gives the same rows.
func sampleRows(ctx context.Context, db *sql.DB, l *layout) ([][]any, error) {
	fail := func(err error) ([][]any, error) {
		return nil, fmt.Errorf("reencrypt: sampling %s for the drift check: %w", l.t.Name, err)
	}
	var out [][]any
	seen := map[string]bool{}
	// read reads one page; args end with the page size.
	read := func(query string, args ...any) error {
		rows, err := db.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			raw := make([]any, len(l.cols))
			ptrs := make([]any, len(raw))
			for i := range raw {
				ptrs[i] = &raw[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			key, err := keyValue(l.t.keyType(), raw[0])
			if err != nil {
				return &ConfigError{Table: l.t.Name, Column: l.t.PrimaryKey, Msg: err.Error()}
			}
			if k := keyString(key); !seen[k] {
				seen[k] = true
				out = append(out, raw)
			}
		}
		return rows.Err()
	}
	const n = int64(driftPageRows)
	if err := read(l.selectBatch(false, false), n); err != nil {
		return fail(err)
	}
	if len(out) < driftPageRows {
		return out, nil // the whole table
	}
	if err := read(l.selectLast(), n); err != nil {
		return fail(err)
	}
	if l.t.keyType() == KeyInteger {
		var lo, hi sql.NullInt64
		if err := db.QueryRowContext(ctx, l.selectKeyBounds()).Scan(&lo, &hi); err != nil {
			return fail(err)
		}
		if !lo.Valid || !hi.Valid {
			return out, nil // emptied meanwhile
		}
		// (hi - lo) may overflow int64; unsigned arithmetic wraps back.
		span := uint64(hi.Int64) - uint64(lo.Int64)
		for i := uint64(1); i < driftPages-1; i++ {
			point := int64(uint64(lo.Int64) + span/(driftPages-1)*i)
			if err := read(l.selectBatch(true, false), point, n); err != nil {
				return fail(err)
			}
		}
		return out, nil
	}
	var total int64
	if err := db.QueryRowContext(ctx, l.countRows()).Scan(&total); err != nil {
		return fail(err)
	}
	for i := int64(1); i < driftPages-1; i++ {
		// Find the key before the inner point by walking the key alone,
		// then read the page after it, so that only the page's rows are
		// fetched whole.
		skip := total/(driftPages-1)*i - 1
		if skip < 0 {
			continue
		}
		var before sql.NullString
		err := db.QueryRowContext(ctx, l.selectBoundary(false), skip).Scan(&before)
		switch {
		case errors.Is(err, sql.ErrNoRows) || (err == nil && !before.Valid):
			continue // the table shrank meanwhile
		case err != nil:
			return fail(err)
		}
		if err := read(l.selectBatch(true, false), before.String, n); err != nil {
			return fail(err)
		}
	}
	return out, nil
}
