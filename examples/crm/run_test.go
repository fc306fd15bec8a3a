package main

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// runService runs the service as main does, with the flags args, until the
// returned stop is called. It waits for the how-to lines and returns them.
func runService(t *testing.T, args ...string) (howTo string, stop func()) {
	t.Helper()
	cfg, err := parseConfig(args, func(string) string { return "" }, &syncBuffer{})
	if err != nil {
		t.Fatalf("parseConfig(%q): %v", args, err)
	}
	out, logs := &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, out, newLogger(logs, cfg.LogFormat)) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v\nlogs:\n%s", err, logs)
		}
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "Try it:") {
		select {
		case err := <-done:
			stopped = true
			t.Fatalf("run returned %v before listening\nlogs:\n%s", err, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no how-to after 30s; output:\n%s\nlogs:\n%s", out, logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return out.String(), stop
}

var curlURL = regexp.MustCompile(`curl -s (http://\S+/tenants/acme/contacts/c_0001)\n`)

// getPrinted GETs the URL of Ada's contact that the how-to prints.
func getPrinted(t *testing.T, howTo string) contactView {
	t.Helper()
	m := curlURL.FindStringSubmatch(howTo)
	if m == nil {
		t.Fatalf("how-to lacks a curl line for c_0001:\n%s", howTo)
	}
	res, err := http.Get(m[1])
	if err != nil {
		t.Fatalf("GET %s: %v", m[1], err)
	}
	defer res.Body.Close()
	var v contactView
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d, want 200", m[1], res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
		t.Fatalf("GET %s: %v", m[1], err)
	}
	return v
}

// TestRunSeedsAndRestarts runs the service as `go run ./examples/crm`
// would, on a data directory of its own: it seeds, prints working curl
// lines, and after a restart (as admin, then as support) finds its keys and
// data again without seeding twice.
func TestRunSeedsAndRestarts(t *testing.T) {
	dir := t.TempDir()
	howTo, stop := runService(t, "-addr", "127.0.0.1:0", "-data", dir)
	if v := getPrinted(t, howTo); str(v.Name) != "Ada Lovelace" {
		t.Errorf("seeded c_0001 = %+v, want Ada Lovelace", v)
	}
	stop()

	howTo, stop = runService(t, "-addr", "127.0.0.1:0", "-data", dir)
	if v := getPrinted(t, howTo); str(v.Name) != "Ada Lovelace" {
		t.Errorf("after a restart, c_0001 = %+v, want Ada Lovelace", v)
	}
	stop()

	howTo, stop = runService(t, "-addr", "127.0.0.1:0", "-data", dir, "-role", "support")
	if !strings.Contains(howTo, "role support") {
		t.Errorf("how-to does not say the role:\n%s", howTo)
	}
	if v := getPrinted(t, howTo); v.Name != nil || str(v.Notes) == "<null>" || len(v.Redacted) != 4 {
		t.Errorf("as support, c_0001 = %+v, want redacted personal fields and readable notes", v)
	}
	stop()

	// One seeding only.
	s, err := newServer(t.Context(), Config{Addr: "127.0.0.1:0", DataDir: dir, Role: RoleAdmin, LogFormat: "text"}, newLogger(&syncBuffer{}, "text"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.db.countContacts(t.Context()); err != nil || n != int64(len(sampleContacts)) {
		t.Errorf("after three starts: %d contacts (err %v), want the %d samples once", n, err, len(sampleContacts))
	}
}
