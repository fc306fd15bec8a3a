package reencrypt_test

import (
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// TestMetrics checks that the job's OpenTelemetry counter reports the rows
// of its committed batches by outcome, matching the summary.
func TestMetrics(t *testing.T) {
	eachDB(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		const n, tenants = 200, 2
		k := newKeys(t)
		app := k.encryptor(t)
		db.createContacts(t)
		db.seed(t, app, n, tenants)
		rotate(t, app.Keyring(), keyring.PurposeData, tenantNames(tenants), classes...)

		reader := sdkmetric.NewManualReader()
		opts := jobOptions("metrics")
		opts.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), contactsTable(t), opts)
		if err != nil {
			t.Fatalf("Run err = %v", err)
		}
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(ctx, &rm); err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if m.Name != "fieldcrypt.reencrypt.rows" {
					continue
				}
				for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
					outcome, _ := dp.Attributes.Value("outcome")
					got[outcome.AsString()] += dp.Value
				}
			}
		}
		if got["rewritten"] != sum.Rewritten || sum.Rewritten != n {
			t.Errorf("fieldcrypt.reencrypt.rows = %v, want rewritten = %d (summary %d)", got, n, sum.Rewritten)
		}
	})
}
