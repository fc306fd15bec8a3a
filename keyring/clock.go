package keyring

import (
	"sync"
	"sync/atomic"
	"time"
)

// coarseTick is the granularity of the cache clock. Cache expiry is late by
// at most this much, against TTLs of minutes.
const coarseTick = 10 * time.Millisecond

// coarseClock is a monotonic clock kept in an atomic and advanced by a
// ticker, so that a cache hit costs an atomic load instead of a clock read
// (which costs more than the rest of the lookup on virtual machines). It is
// stopped by Keyring.Close, or when the keyring is garbage collected.
type coarseClock struct {
	epoch  time.Time
	now    atomic.Int64 // nanoseconds since epoch, as of the last tick
	halted atomic.Bool
	stop   chan struct{}
	once   sync.Once
}

func startCoarseClock(epoch time.Time) *coarseClock {
	c := &coarseClock{epoch: epoch, stop: make(chan struct{})}
	c.now.Store(int64(time.Since(epoch)))
	go func() {
		t := time.NewTicker(coarseTick)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				c.now.Store(int64(time.Since(epoch)))
			case <-c.stop:
				return
			}
		}
	}()
	return c
}

// read returns the time since epoch. After halt it reads the real clock, so
// a keyring used after Close still expires its cache.
func (c *coarseClock) read() int64 {
	if c.halted.Load() {
		return int64(time.Since(c.epoch))
	}
	return c.now.Load()
}

func (c *coarseClock) halt() {
	c.once.Do(func() {
		c.halted.Store(true)
		close(c.stop)
	})
}
