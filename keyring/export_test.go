package keyring

import "time"

// NewWithClock is New with the clock now, for the tests in package
// keyring_test: creation times, audit events and cache expiry follow it.
func NewWithClock(cfg Config, now func() time.Time) (*Keyring, error) {
	return newKeyring(cfg, now)
}

// ClockTicking reports whether the keyring's cache clock runs a ticker.
func ClockTicking(k *Keyring) bool { return k.coarse != nil && k.coarse.running.Load() }
