package keyring

import (
	"sync"
	"sync/atomic"
	"time"
)

// Granularity and idle limit of the cache clock's ticker.
const (
	coarseTick = 10 * time.Millisecond
	idleTicks  = 100 // a second without a cache hit stops the ticker
)

// coarseClock is the keyring clock for cache expiry: nanoseconds since the
// keyring was made. Every cache hit reads it; a monotonic clock read costs
// 25–60 ns on the virtual machines measured, up to 2.5% of a Decrypt (BENCHMARKS.md,
// "Against the floor"). So while the cache serves hits, a ticker goroutine
// keeps the time in an atomic and a read is one atomic load. The ticker
// starts on the first read, stops after idleTicks ticks without a hit (so
// an idle or abandoned keyring has no goroutine, and is collected), and
// stops for good on Close; reads then take the real clock. Expiry is late
// by at most coarseTick, plus the ticker's scheduling delay, against TTLs
// of minutes.
type coarseClock struct {
	start   time.Time
	hits    *atomic.Int64 // the keyring's cache hits: the ticker runs while they grow
	now     atomic.Int64  // the time at the last tick, +1; 0 when no ticker runs
	running atomic.Bool   // a ticker goroutine runs (or is about to)
	stop    chan struct{} // closed by halt
	halted  atomic.Bool
	once    sync.Once
}

func newCoarseClock(hits *atomic.Int64) *coarseClock {
	return &coarseClock{start: time.Now(), hits: hits, stop: make(chan struct{})}
}

// read returns the time since the clock's start.
func (c *coarseClock) read() int64 {
	if v := c.now.Load(); v != 0 {
		return v - 1
	}
	return c.readSlow()
}

// readSlow reads the real clock, and starts the ticker if none runs.
func (c *coarseClock) readSlow() int64 {
	t := int64(time.Since(c.start))
	if !c.halted.Load() && c.running.CompareAndSwap(false, true) {
		c.now.Store(t + 1)
		go c.tick()
	}
	return t
}

func (c *coarseClock) tick() {
	t := time.NewTicker(coarseTick)
	defer t.Stop()
	last, idle := c.hits.Load(), 0
loop:
	for {
		select {
		case <-c.stop:
			break loop
		case <-t.C:
		}
		if h := c.hits.Load(); h != last {
			last, idle = h, 0
		} else if idle++; idle >= idleTicks {
			break loop
		}
		c.now.Store(int64(time.Since(c.start)) + 1)
	}
	// Readers take the real clock from here on, until a read starts a
	// new ticker (never after halt).
	c.now.Store(0)
	c.running.Store(false)
}

// halt stops the ticker for good. Close calls it.
func (c *coarseClock) halt() {
	c.once.Do(func() {
		c.halted.Store(true)
		close(c.stop)
	})
}

// exact reads the real clock without starting the ticker: for readers that
// are not cache lookups (Stats, a metrics export), which must not keep an
// idle keyring's ticker running.
func (c *coarseClock) exact() int64 { return int64(time.Since(c.start)) }

// clockNoTicker reads the keyring clock without starting the cache clock's
// ticker.
func (k *Keyring) clockNoTicker() int64 {
	if k.coarse != nil {
		return k.coarse.exact()
	}
	return k.clock()
}
