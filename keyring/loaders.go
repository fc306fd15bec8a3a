package keyring

import (
	"context"
	"runtime/pprof"
	"sync/atomic"
	"time"
)

// loaders runs keyset loads on goroutines that outlive one load.
//
// A load runs apart from its callers, so that a caller whose context ends
// can return while the load, which other callers share, goes on. A fresh
// goroutine for every load started on the smallest stack and grew it two or
// three times on the way through the store, the JSON state and Tink's
// parsing: stack copying was about 15% of a warm-up's CPU. A loader that
// has run a load keeps its grown stack and waits, for loaderIdle, to run
// the next one; there is no bound on how many run at once, so one slow KMS
// call never delays another tenant's load. Callers of the same keyset at
// once each take a loader, which waits in singleflight for the one load
// (before, each caller waited on a channel of that load): a waiting loader
// has not grown its stack, and runs later loads once it is idle.
type loaders struct {
	work    chan func()  // unbuffered: a send succeeds only when a loader is idle
	started atomic.Int64 // loaders started, for tests
}

// loaderIdle is how long an idle loader waits for another load before it
// exits.
const loaderIdle = time.Second

func newLoaders() *loaders { return &loaders{work: make(chan func())} }

// run runs f on an idle loader, or on a new one when none is idle, with
// the profiler labels of ctx (a goroutine started for it would have had
// its starter's labels).
func (l *loaders) run(ctx context.Context, load func()) {
	f := func() {
		pprof.SetGoroutineLabels(ctx)
		load()
	}
	select {
	case l.work <- f:
	default:
		l.started.Add(1)
		go l.loop(f)
	}
}

// loop runs f, then every load handed to it until it has been idle for
// loaderIdle.
func (l *loaders) loop(f func()) {
	f()
	idle := time.NewTimer(loaderIdle)
	defer idle.Stop()
	for {
		select {
		case f := <-l.work:
			f()
			idle.Reset(loaderIdle)
		case <-idle.C:
			return
		}
	}
}
