package keyring

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
)

// meterName is the instrumentation scope of the keyring's metrics.
const meterName = "github.com/fieldcrypt/fieldcrypt/keyring"

// registerMetrics exposes the keyring's counters as OpenTelemetry
// asynchronous counters, read from the same atomics as Stats only when a
// reader collects: the hot path pays nothing, provider or not.
func (k *Keyring) registerMetrics(mp metric.MeterProvider) (metric.Registration, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(meterName)
	type inst struct {
		name, desc string
		read       func(Stats) int64
	}
	insts := []inst{
		{"fieldcrypt.kms.calls", "Calls to a KEK (keyset wrap and unwrap).", func(s Stats) int64 { return s.KMSCalls }},
		{"fieldcrypt.keyring.cache.hits", "Keyset lookups served from the cache.", func(s Stats) int64 { return s.CacheHits }},
		{"fieldcrypt.keyring.cache.misses", "Keyset lookups that had to load.", func(s Stats) int64 { return s.CacheMisses }},
		{"fieldcrypt.keyring.loads", "Keyset loads from the store.", func(s Stats) int64 { return s.Loads }},
		{"fieldcrypt.keyring.load.errors", "Failed keyset loads.", func(s Stats) int64 { return s.LoadErrors }},
		{"fieldcrypt.keyring.stale.served", "Lookups served past the cache TTL while reloads failed.", func(s Stats) int64 { return s.StaleServed }},
		{"fieldcrypt.keyring.cache.evictions", "Keysets dropped to keep the cache within MaxKeysets.", func(s Stats) int64 { return s.Evictions }},
		{"fieldcrypt.keyring.cache.reloads", "Loads of keysets the cache had evicted lately (each a KMS call).", func(s Stats) int64 { return s.Reloads }},
	}
	observables := make([]metric.Observable, len(insts), len(insts)+2)
	counters := make([]metric.Int64ObservableCounter, len(insts))
	for i, in := range insts {
		c, err := m.Int64ObservableCounter(in.name, metric.WithDescription(in.desc), metric.WithUnit("{call}"))
		if err != nil {
			return nil, err
		}
		counters[i], observables[i] = c, c
	}
	size, err := m.Int64ObservableGauge("fieldcrypt.keyring.cache.keysets",
		metric.WithDescription("Unwrapped keysets the cache holds."), metric.WithUnit("{keyset}"))
	if err != nil {
		return nil, err
	}
	rate, err := m.Float64ObservableGauge("fieldcrypt.kms.calls.rate",
		metric.WithDescription("KMS calls per second over about the last minute."), metric.WithUnit("{call}/s"))
	if err != nil {
		return nil, err
	}
	observables = append(observables, size, rate)
	return m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := k.Stats()
		for i, in := range insts {
			o.ObserveInt64(counters[i], in.read(s))
		}
		o.ObserveInt64(size, s.CachedKeysets)
		o.ObserveFloat64(rate, s.KMSCallsPerSecond)
		return nil
	}, observables...)
}

// stopMetrics stops reporting the keyring's metrics. Close calls it.
func (k *Keyring) stopMetrics() error {
	if k.metrics == nil {
		return nil
	}
	return k.metrics.Unregister()
}
