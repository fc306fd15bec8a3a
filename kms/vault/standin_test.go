package vault_test

// The tests in this file talk to a stand-in HTTP server, not to Vault: they
// check what a real dev server cannot show, namely the namespace header (the
// OSS dev server has no namespaces), answers of the wrong shape, how many
// times a 429 or 5xx answer is retried, and the TLS options (the dev server
// speaks plain HTTP).

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/vault"
)

// request is what the stand-in saw of one request.
type request struct {
	path, namespace, token string
}

// standIn serves answer for every request and records them.
type standIn struct {
	mu       sync.Mutex
	requests []request
	answer   func(path string) (status int, body string)
}

func (s *standIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, request{r.URL.Path, r.Header.Get(api.NamespaceHeaderName), r.Header.Get(api.AuthHeaderName)})
	s.mu.Unlock()
	status, body := s.answer(r.URL.Path)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func (s *standIn) seen() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]request(nil), s.requests...)
}

func startStandIn(t *testing.T, answer func(path string) (int, string)) (*standIn, string) {
	t.Helper()
	s := &standIn{answer: answer}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv.URL
}

// A valid-looking Transit answer.
const encryptAnswer = `{"data":{"ciphertext":"vault:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==","key_version":1}}`

func TestNamespaceHeader(t *testing.T) {
	s, addr := startStandIn(t, func(path string) (int, string) {
		if strings.HasSuffix(path, "/login") {
			return 200, `{"auth":{"client_token":"hvs.from-login","lease_duration":0,"renewable":false}}`
		}
		return 200, encryptAnswer
	})
	for _, tc := range []struct {
		name string
		opts vault.Options
	}{
		{"token", vault.Options{Address: addr, Token: "hvs.static", Namespace: "team-a/"}},
		{"approle", vault.Options{Address: addr, Namespace: "team-a/", AppRole: &vault.AppRole{RoleID: "r", SecretID: "s"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(s.seen())
			conn := dial(t, &tc.opts)
			kek, err := conn.Open("hcvault://transit/keys/pii")
			if err != nil {
				t.Fatalf("Open() err = %v", err)
			}
			if _, err := kek.EncryptWithContext(context.Background(), []byte("pt"), []byte("ad")); err != nil {
				t.Fatalf("EncryptWithContext() err = %v", err)
			}
			reqs := s.seen()[before:]
			if len(reqs) == 0 {
				t.Fatal("the stand-in saw no request")
			}
			for _, r := range reqs {
				if r.namespace != "team-a/" {
					t.Errorf("request %s: %s = %q, want %q", r.path, api.NamespaceHeaderName, r.namespace, "team-a/")
				}
			}
			last := reqs[len(reqs)-1]
			if last.path != "/v1/transit/encrypt/pii" {
				t.Errorf("last request path = %q, want /v1/transit/encrypt/pii", last.path)
			}
			if tc.opts.AppRole != nil {
				if reqs[0].path != "/v1/auth/approle/login" || reqs[0].token != "" {
					t.Errorf("first request = %s with token %q, want the AppRole login without a token", reqs[0].path, reqs[0].token)
				}
				if last.token != "hvs.from-login" {
					t.Errorf("encrypt carried token %q, want the one login returned", last.token)
				}
			}
		})
	}
}

func TestMalformedAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
		status           int
		op               string
	}{
		{"encrypt: no body", "", "no data", 204, "encrypt"},
		{"encrypt: data is null", `{"data":null}`, `no field "ciphertext"`, 200, "encrypt"},
		{"encrypt: no ciphertext", `{"data":{"key_version":1}}`, `no field "ciphertext"`, 200, "encrypt"},
		{"encrypt: ciphertext is a number", `{"data":{"ciphertext":42}}`, `field "ciphertext" is a json.Number`, 200, "encrypt"},
		{"encrypt: ciphertext is not Transit's", `{"data":{"ciphertext":"hello"}}`, "not a Transit ciphertext", 200, "encrypt"},
		{"encrypt: not JSON", `<html>proxy error</html>`, "", 200, "encrypt"},
		{"decrypt: no plaintext", `{"data":{}}`, `no field "plaintext"`, 200, "decrypt"},
		{"decrypt: plaintext is null", `{"data":{"plaintext":null}}`, `no field "plaintext"`, 200, "decrypt"},
		{"decrypt: plaintext is an object", `{"data":{"plaintext":{}}}`, `field "plaintext" is a map`, 200, "decrypt"},
		{"decrypt: plaintext is not base64", `{"data":{"plaintext":"!!not base64!!"}}`, "not base64", 200, "decrypt"},
		{"rewrap: no ciphertext", `{"data":{}}`, `no field "ciphertext"`, 200, "rewrap"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := startStandIn(t, func(string) (int, string) { return tc.status, tc.body })
			kek, err := dial(t, &vault.Options{Address: addr, Token: "t"}).Open("hcvault://transit/keys/pii")
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			ct := []byte("vault:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==")
			var out []byte
			switch tc.op {
			case "encrypt":
				out, err = kek.EncryptWithContext(ctx, []byte("pt"), nil)
			case "decrypt":
				out, err = kek.DecryptWithContext(ctx, ct, nil)
			case "rewrap":
				out, err = kek.Rewrap(ctx, ct, nil)
			}
			if err == nil {
				t.Fatalf("%s = %q, nil; want error", tc.op, out)
			}
			var kerr *kms.Error
			if !errors.As(err, &kerr) || kerr.Code != kms.CodeUnknown || kerr.Transient() {
				t.Errorf("%s err = %v, want a permanent *kms.Error with code unknown", tc.op, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s err = %v, want it to say %q", tc.op, err, tc.want)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	for _, tc := range []struct {
		name       string
		status     int
		maxRetries int
		wantTries  int
		wantCode   kms.Code
	}{
		{"429 retried", 429, 2, 3, kms.CodeThrottled},
		{"503 retried", 503, 2, 3, kms.CodeUnavailable},
		{"500 retried", 500, 1, 2, kms.CodeUnavailable},
		{"503 no retry", 503, -1, 1, kms.CodeUnavailable},
		{"400 not retried", 400, 2, 1, kms.CodeInvalidArgument},
		{"403 not retried", 403, 2, 1, kms.CodePermissionDenied},
		{"404 not retried", 404, 2, 1, kms.CodeNotFound},
		{"501 not retried", 501, 2, 1, kms.CodeUnavailable},
		// A performance standby (Vault Enterprise) answers 412 until it has
		// caught up with the X-Vault-Index a request asks for: transient,
		// and the api's own policy retries it. The OSS dev server never
		// answers 412, hence the stand-in.
		{"412 retried", 412, 2, 3, kms.CodeUnavailable},
		{"412 no retry", 412, -1, 1, kms.CodeUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, addr := startStandIn(t, func(string) (int, string) { return tc.status, `{"errors":["stand-in says no"]}` })
			kek, err := dial(t, &vault.Options{Address: addr, Token: "t", MaxRetries: tc.maxRetries,
				MinRetryWait: time.Millisecond, MaxRetryWait: 5 * time.Millisecond}).Open("hcvault://transit/keys/pii")
			if err != nil {
				t.Fatal(err)
			}
			_, err = kek.EncryptWithContext(context.Background(), []byte("pt"), nil)
			if code := kms.CodeOf(err); code != tc.wantCode {
				t.Errorf("EncryptWithContext() code = %v, want %v (err = %v)", code, tc.wantCode, err)
			}
			if got := len(s.seen()); got != tc.wantTries {
				t.Errorf("the stand-in saw %d requests, want %d", got, tc.wantTries)
			}
			var re *api.ResponseError
			if !errors.As(err, &re) || re.StatusCode != tc.status {
				t.Errorf("errors.As(err, *api.ResponseError) = %v, want status %d", re, tc.status)
			}
		})
	}
}

// A retry wait ends when the context does.
func TestRetryHonoursContext(t *testing.T) {
	_, addr := startStandIn(t, func(string) (int, string) { return 503, `{"errors":["sealed"]}` })
	kek, err := dial(t, &vault.Options{Address: addr, Token: "t", MaxRetries: 10,
		MinRetryWait: 10 * time.Second, MaxRetryWait: 10 * time.Second}).Open("hcvault://transit/keys/pii")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = kek.EncryptWithContext(ctx, []byte("pt"), nil)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("EncryptWithContext() returned after %v, want soon after the 200ms deadline", took)
	}
	if code := kms.CodeOf(err); code != kms.CodeDeadlineExceeded {
		t.Errorf("EncryptWithContext() code = %v, want deadline exceeded (err = %v)", code, err)
	}
}

func TestTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(&standIn{answer: func(string) (int, string) { return 200, encryptAnswer }})
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		tls  *vault.TLS
		ok   bool     // the call succeeds
		want kms.Code // else its code
	}{
		{"CA certificate", &vault.TLS{CACert: caFile}, true, 0},
		{"CA certificate, matching server name", &vault.TLS{CACert: caFile, ServerName: "example.com"}, true, 0},
		{"insecure skip verify", &vault.TLS{InsecureSkipVerify: true}, true, 0},
		{"unknown CA", &vault.TLS{}, false, kms.CodeUnknown},
		{"CA certificate, other server name", &vault.TLS{CACert: caFile, ServerName: "vault.other.example"}, false, kms.CodeUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kek, err := dial(t, &vault.Options{Address: srv.URL, Token: "t", TLS: tc.tls}).Open("hcvault://transit/keys/pii")
			if err != nil {
				t.Fatal(err)
			}
			_, err = kek.EncryptWithContext(context.Background(), []byte("pt"), nil)
			switch {
			case tc.ok && err != nil:
				t.Errorf("EncryptWithContext() err = %v, want nil", err)
			case !tc.ok && (kms.CodeOf(err) != tc.want || kms.IsTransient(err)):
				t.Errorf("EncryptWithContext() err = %v, want %v, permanent (a certificate that does not verify will not on retry)", err, tc.want)
			}
		})
	}
}
