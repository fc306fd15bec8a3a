package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for the schema's admin connection

	"github.com/fieldcrypt/fieldcrypt/internal/testenv"
)

// forEachDatabase runs test on SQLite and on the real PostgreSQL server, in
// a schema of its own that is dropped afterwards. db is the -db value.
func forEachDatabase(t *testing.T, test func(t *testing.T, db string)) {
	t.Helper()
	t.Run("SQLite", func(t *testing.T) { test(t, "") })
	t.Run("PostgreSQL", func(t *testing.T) { test(t, postgresSchema(t)) })
}

// postgresSchema returns a DSN on a schema of the test's own, or stops the
// test as testenv.Require says when the server is unreachable. The CRM
// takes only postgres:// URLs, which testenv's DSN is.
func postgresSchema(t *testing.T) string { return testenv.PostgresSchema(t, "crm_test") }

// raw runs a query as written, through the service's connection (GORM
// rewrites the ? placeholders for PostgreSQL): no plugin sees the result,
// so encrypted columns read as stored.
func (ts *testServer) raw(query string, args ...any) *sql.Row {
	return ts.s.db.Raw(query, args...).Row()
}

// exec runs a statement as written, as someone with write access to the
// database could, bypassing the plugin.
func (ts *testServer) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	if err := ts.s.db.Exec(query, args...).Error; err != nil {
		t.Fatalf("Exec(%s): %v", query, err)
	}
}

// testServer is a CRM service running in-process on 127.0.0.1:0.
type testServer struct {
	URL  string
	s    *server
	logs *syncBuffer
}

// testConfig returns a configuration for a test: a fresh data directory,
// no sample data, the admin role.
func testConfig(t *testing.T, db string) Config {
	return Config{Addr: "127.0.0.1:0", DB: db, DataDir: t.TempDir(), Role: RoleAdmin, KEKs: map[string]string{}, LogFormat: "text"}
}

// startServer starts the service with cfg and stops it when the test ends.
func startServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	logs := &syncBuffer{}
	log := newLogger(logs, cfg.LogFormat)
	s, err := newServer(t.Context(), cfg, log)
	if err != nil {
		t.Fatalf("newServer(role %s): %v", cfg.Role, err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		s.Close()
		t.Fatalf("Listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, s.routes(), log) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &testServer{URL: "http://" + ln.Addr().String(), s: s, logs: logs}
}

// response is an HTTP answer, read in full.
type response struct {
	status int
	header http.Header
	body   []byte
}

// decode decodes the body into v.
func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response body %q is not the JSON expected: %v", r.body, err)
	}
}

// errorCode returns the code of a JSON error body, or "" if it is none.
func (r response) errorCode() string {
	var e errorBody
	if json.Unmarshal(r.body, &e) != nil {
		return ""
	}
	return e.Error.Code
}

// do sends a request. body is nil, a string sent as it is, or a value sent
// as JSON.
func (ts *testServer) do(t *testing.T, method, path string, body any) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("json.Marshal(%T): %v", body, err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, ts.URL+path, rd)
	if err != nil {
		t.Fatalf("NewRequest(%s %s): %v", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: data}
}

// mustStatus sends a request and fails the test unless it gets want.
func (ts *testServer) mustStatus(t *testing.T, want int, method, path string, body any) response {
	t.Helper()
	r := ts.do(t, method, path, body)
	if r.status != want {
		t.Fatalf("%s %s: status %d, want %d; body %s", method, path, r.status, want, r.body)
	}
	return r
}

// createContact creates a contact through the API and returns it.
func (ts *testServer) createContact(t *testing.T, tenant string, in contactInput) contactView {
	t.Helper()
	var v contactView
	ts.mustStatus(t, http.StatusCreated, "POST", "/tenants/"+tenant+"/contacts", in).decode(t, &v)
	return v
}

// search looks contacts up through the API with the query query.
func (ts *testServer) search(t *testing.T, tenant string, query url.Values) contactList {
	t.Helper()
	var list contactList
	ts.mustStatus(t, http.StatusOK, "GET", "/tenants/"+tenant+"/contacts?"+query.Encode(), nil).decode(t, &list)
	return list
}

// ids returns the IDs of a list's contacts.
func (l contactList) ids() []string {
	out := []string{}
	for _, c := range l.Contacts {
		out = append(out, c.ID)
	}
	return out
}

// str returns *p, or "<null>".
func str(p *string) string {
	if p == nil {
		return "<null>"
	}
	return *p
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
