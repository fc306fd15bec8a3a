package reencrypt

import (
	"context"
	"database/sql"
)

// NoCrypto makes a run rewrite every row with its own values, without
// inspecting or decrypting anything: the crypto-free baseline of the
// benchmarks, through the same paging, batching, compare-and-swap and
// checkpoints as a real run.
func NoCrypto(o *Options) { o.noCrypto = true }

// BeforeWrite makes a run call f between reading a batch and writing it,
// with the keys of the rows it is about to rewrite, so that a test can
// write to them as a concurrent application would. With Concurrency > 1, f
// is called from several goroutines at once.
func BeforeWrite(o *Options, f func(ctx context.Context, keys []any)) { o.beforeWrite = f }

// SampleKeys returns the primary keys of the rows the drift check samples,
// in the order it reads them.
func SampleKeys(ctx context.Context, db *sql.DB, d Dialect, t Table) ([]string, error) {
	rows, err := sampleRows(ctx, db, newLayout(d, &t))
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, raw := range rows {
		k, err := keyValue(t.keyType(), raw[0])
		if err != nil {
			return nil, err
		}
		keys = append(keys, keyString(k))
	}
	return keys, nil
}
