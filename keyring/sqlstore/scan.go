package sqlstore

import (
	"fmt"
	"time"
)

// nullTime scans a time column: NULL is the zero time. Besides time.Time it
// reads text, for SQLite (which stores text) and for MySQL connections
// without parseTime=true (whose text is in UTC, the driver's default loc).
type nullTime struct{ t *time.Time }

// textTimes are the layouts text times come in; time.Parse reads any
// fraction of a second after the seconds.
var textTimes = []string{
	time.RFC3339Nano,      // SQLite rows written by this package
	"2006-01-02 15:04:05", // MySQL DATETIME(6) as text
}

// Scan implements sql.Scanner.
func (n nullTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*n.t = time.Time{}
		return nil
	case time.Time:
		*n.t = v
		return nil
	case []byte:
		return n.parse(string(v))
	case string:
		return n.parse(v)
	}
	return fmt.Errorf("time column holds %T, want a time, text or NULL", src)
}

func (n nullTime) parse(s string) error {
	for _, layout := range textTimes {
		if t, err := time.Parse(layout, s); err == nil {
			*n.t = t
			return nil
		}
	}
	return fmt.Errorf("time column holds %q, not a time", s)
}
