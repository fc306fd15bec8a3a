package reencrypt

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// jobMetrics reports a run's progress through OpenTelemetry: the rows of
// each committed batch, by outcome. With no provider installed it costs a
// no-op call per batch.
type jobMetrics struct {
	rows  metric.Int64Counter
	attrs []attribute.KeyValue
}

func newJobMetrics(mp metric.MeterProvider, r *runner) jobMetrics {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	rows, err := mp.Meter("github.com/fieldcrypt/fieldcrypt/reencrypt").Int64Counter("fieldcrypt.reencrypt.rows",
		metric.WithDescription("Rows of committed batches of the re-encryption job (and of verify), by outcome."),
		metric.WithUnit("{row}"))
	if err != nil {
		otel.Handle(err)
	}
	return jobMetrics{rows: rows, attrs: []attribute.KeyValue{
		attribute.String("table", r.l.t.Name),
		attribute.String("mode", string(r.mode)),
		attribute.String("job", r.o.Job),
	}}
}

// batch records the outcomes of one committed batch.
func (m jobMetrics) batch(ctx context.Context, t *tally) {
	if m.rows == nil {
		return
	}
	for _, o := range []struct {
		outcome string
		n       int64
	}{{"current", t.current}, {"rewritten", t.rewritten}, {"failed", t.failed}, {"skipped", t.skipped}, {"conflict", t.clash}} {
		if o.n > 0 {
			attrs := append(append([]attribute.KeyValue(nil), m.attrs...), attribute.String("outcome", o.outcome))
			m.rows.Add(ctx, o.n, metric.WithAttributes(attrs...))
		}
	}
}
