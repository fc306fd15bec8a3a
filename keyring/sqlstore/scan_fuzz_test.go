package sqlstore

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzScanTime feeds arbitrary text, as a string and as bytes, to the time
// column scanner: it never panics; both forms give the same result; a time
// it reads scans back equal from its RFC 3339 text, as SQLite rows store
// it; and text it refuses leaves the time alone with an error that quotes
// the text.
func FuzzScanTime(f *testing.F) {
	for _, s := range []string{
		"2024-05-01T12:34:56.123456789Z", "2024-05-01T12:34:56+02:00", "2024-05-01 12:34:56", "2024-05-01 12:34:56.123456",
		"", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z", "2024-02-30T00:00:00Z", "2024-05-01T24:00:00Z",
		"2024-05-01T12:34:56+25:00", "2024-05-01 12:34", "2024-05-01T12:34:56,5Z", "\xff", "-0001-01-01T00:00:00Z",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sentinel := time.Date(2001, 2, 3, 4, 5, 6, 7, time.UTC)
		fromString, fromBytes := sentinel, sentinel
		errS := nullTime{&fromString}.Scan(s)
		errB := nullTime{&fromBytes}.Scan([]byte(s))
		if (errS == nil) != (errB == nil) || !fromString.Equal(fromBytes) {
			t.Fatalf("Scan(%q) = %v, %v as a string but %v, %v as bytes", s, fromString, errS, fromBytes, errB)
		}
		if errS != nil {
			if fromString != sentinel {
				t.Fatalf("Scan(%q) failed (%v) but set the time to %v", s, errS, fromString)
			}
			if !strings.Contains(errS.Error(), strconv.Quote(s)) {
				t.Fatalf("Scan(%q) err = %q does not quote the text", s, errS)
			}
			return
		}
		text := fromString.Format(time.RFC3339Nano)
		again := sentinel
		if err := (nullTime{&again}).Scan(text); err != nil {
			// Years outside 0000-9999 have no RFC 3339 text.
			if y := fromString.Year(); y >= 0 && y <= 9999 {
				t.Fatalf("Scan(%q) = %v, whose text %q does not scan: %v", s, fromString, text, err)
			}
			return
		}
		if !again.Equal(fromString) {
			t.Fatalf("Scan(%q) = %v, whose text %q scans to %v", s, fromString, text, again)
		}
	})
}
