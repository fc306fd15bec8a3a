package keyring

import (
	"testing"
	"time"
)

// TestLoadersNeverQueue checks that a load never waits for another: while
// one load is blocked (a KMS that does not answer), others still run, each
// on a loader of its own.
func TestLoadersNeverQueue(t *testing.T) {
	l := newLoaders()
	block := make(chan struct{})
	defer close(block)
	for range 3 {
		l.run(t.Context(), func() { <-block })
	}
	done := make(chan struct{})
	l.run(t.Context(), func() { close(done) })
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a load waited behind loads that never finish")
	}
}

// TestLoadersReuseIdle checks that a loader that finished a load runs the
// next one: loads run one after another, a millisecond apart, start one
// loader rather than one each (a few more are allowed for a loader that
// the scheduler had not yet brought back to wait).
func TestLoadersReuseIdle(t *testing.T) {
	l := newLoaders()
	const loads = 50
	for range loads {
		done := make(chan struct{})
		l.run(t.Context(), func() { close(done) })
		<-done
		time.Sleep(time.Millisecond)
	}
	if n := l.started.Load(); n > loads/10 {
		t.Fatalf("%d loads, one after another, started %d loaders, want at most %d", loads, n, loads/10)
	}
}
