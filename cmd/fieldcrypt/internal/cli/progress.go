package cli

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// progressBar draws a job's progress on a terminal: a bar, rows done, rate
// and ETA, redrawn in place.
type progressBar struct {
	w     io.Writer
	width int // characters of the bar itself
}

const barWidth = 30

func (p *progressBar) update(pr reencrypt.Progress) {
	frac := 0.0
	if pr.Total > 0 {
		frac = min(1, float64(pr.Done)/float64(pr.Total))
	}
	filled := int(frac * float64(p.width))
	bar := strings.Repeat("#", filled) + strings.Repeat(".", p.width-filled)
	eta := "-"
	if pr.ETA > 0 {
		eta = pr.ETA.String()
	}
	fmt.Fprintf(p.w, "\r\033[K%s %s [%s] %5.1f%% %d/%d rows  %.0f rows/s  ETA %s",
		pr.Table, pr.Mode, bar, 100*frac, pr.Done, pr.Total, pr.Rate, eta)
	if pr.Final {
		fmt.Fprintf(p.w, "  (%v)\n", pr.Elapsed.Round(time.Millisecond))
	}
}

// jobReporting returns the progress callback and the logger of a job run:
// on a terminal a progress bar, with only warnings logged beside it;
// otherwise no bar, and the job's structured events (progress included)
// logged as JSON lines or text, per log_format.
func (a *app) jobReporting() (func(reencrypt.Progress), *slog.Logger) {
	if !a.env.isTerminal(a.env.Stderr) || a.jsonStderr() {
		return nil, a.log
	}
	bar := &progressBar{w: a.env.Stderr, width: barWidth}
	return bar.update, newLogger(a.env.Stderr, "text", "warn")
}
