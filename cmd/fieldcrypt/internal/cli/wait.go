package cli

import (
	"context"
	"fmt"
	"time"
)

// waitVisibly waits d, showing the time left on stderr: a countdown
// redrawn every second on a terminal, a line (a JSON record in JSON log
// mode) every 30 seconds otherwise. It returns ctx's error if ctx ends
// first (Ctrl-C).
func (a *app) waitVisibly(ctx context.Context, d time.Duration, what string) error {
	w := a.env.Stderr
	tty := a.env.isTerminal(w) && !a.jsonStderr()
	end := time.Now().Add(d)
	a.info(fmt.Sprintf("waiting %v %s (Ctrl-C aborts)", d, what), "wait_seconds", d.Seconds())
	every := 30 * time.Second
	if tty {
		every = time.Second
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			if tty {
				fmt.Fprint(w, "\r\033[K")
			}
			return ctx.Err()
		case <-timer.C:
			if tty {
				fmt.Fprint(w, "\r\033[K")
			}
			return nil
		case <-ticker.C:
			left := ceilSecond(time.Until(end))
			if tty {
				fmt.Fprintf(w, "\r\033[K  %v left", left)
			} else {
				a.info(fmt.Sprintf("  %v left", left), "seconds_left", left.Seconds())
			}
		}
	}
}

// ceilSecond rounds d up to a whole second, so a countdown never shows 0s
// before its end.
func ceilSecond(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return (d + time.Second - 1).Truncate(time.Second)
}
