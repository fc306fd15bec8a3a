//go:build unix

package keyring_test

// These tests take a real Vault server down under a keyring whose KEK is a
// Transit key on it, and check the outage contract end to end:
//
//   - cached keysets keep serving reads and writes for CacheTTL plus
//     StalePeriod, with no KMS call on the hot path;
//   - after that, and for any keyset not cached, calls fail with
//     keyring.ErrKEKUnavailable, a transient error (kms.IsTransient);
//   - a Vault that is back but still sealed is transient too;
//   - once Vault is unsealed the same keyring recovers, with no restart;
//   - a slow Vault (latency added by a TCP proxy) makes loads fail within
//     LoadTimeout with a deadline-class error, while cached keysets serve
//     at once.
//
// The shared dev server (scripts/vault-dev.sh) must keep running for other
// tests, so each test starts a Vault server of its own from the binary that
// script builds: not in dev mode, with file storage in a temporary folder,
// so that it can be killed, restarted and unsealed and its Transit key
// survives. A manual clock (keyring.NewWithClock) moves through CacheTTL and
// StalePeriod instead of sleeping for minutes.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/fieldcrypt/fieldcrypt/internal/testenv"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/vault"
)

// outageKEK is the Transit key the outage tests wrap keysets with.
const outageKEK = "hcvault://transit/keys/outage-kek"

// TestVaultOutage stops the Vault server under a keyring, once with SIGKILL
// and once gracefully (SIGTERM), and checks stale serving, the typed
// transient failure, the sealed state and recovery of the same keyring.
func TestVaultOutage(t *testing.T) {
	srv := startVaultServer(t)
	clk := &outageClock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	cfg := keyring.Config{
		Store:        keyring.NewMemoryStore(),
		Opener:       vaultOpener(srv.addr, srv.rootToken),
		DefaultKEK:   outageKEK,
		CacheTTL:     keyring.DefaultCacheTTL,
		StalePeriod:  keyring.DefaultStalePeriod,
		RetryBackoff: keyring.DefaultRetryBackoff,
		LoadTimeout:  keyring.DefaultLoadTimeout,
	}
	kr, err := keyring.NewWithClock(cfg, clk.Now)
	if err != nil {
		t.Fatalf("keyring.New() err = %v", err)
	}
	ctx := context.Background()

	// Warm up: both keysets of acme/pii are created, wrapped by Vault and
	// cached. A value written now must read back after every outage.
	warm := warmKeysets(t, kr, "acme", "pii")
	loadedAt := clk.Now()

	stops := []struct {
		name string
		stop func(*testing.T)
	}{
		{"SIGKILL", func(t *testing.T) { srv.stop(t, syscall.SIGKILL) }},
		{"SIGTERM", func(t *testing.T) { srv.stop(t, syscall.SIGTERM) }},
	}
	for i, tc := range stops {
		ok := t.Run(tc.name, func(t *testing.T) {
			tc.stop(t)

			// Within CacheTTL: plain cache hits, no KMS call.
			calls := kr.Stats().KMSCalls
			clk.Set(loadedAt.Add(cfg.CacheTTL - time.Second))
			warm.check(t, kr, "within CacheTTL")
			if got := kr.Stats().KMSCalls - calls; got != 0 {
				t.Errorf("lookups within CacheTTL made %d KMS calls, want 0", got)
			}

			// Past CacheTTL, within StalePeriod: still served, while the
			// background reloads fail. A reload failure that were classified
			// as permanent would drop the entry and fail the next lookup.
			stale := kr.Stats()
			for _, at := range []time.Duration{
				cfg.CacheTTL + time.Second,
				cfg.CacheTTL + cfg.StalePeriod/2,
				cfg.CacheTTL + cfg.StalePeriod - time.Second,
			} {
				clk.Set(loadedAt.Add(at))
				errs := kr.Stats().LoadErrors
				warm.check(t, kr, fmt.Sprintf("%v after the last load, Vault down", at))
				waitFor(t, "a failed background reload", func() bool { return kr.Stats().LoadErrors > errs })
				warm.check(t, kr, fmt.Sprintf("%v after the last load, after a failed reload", at))
			}
			if got := kr.Stats().StaleServed - stale.StaleServed; got == 0 {
				t.Errorf("Stats().StaleServed grew by 0 during the stale period, want > 0")
			}
			t.Logf("Vault down: cached keysets served from %v to %v after their load", cfg.CacheTTL, cfg.CacheTTL+cfg.StalePeriod)

			// Past StalePeriod: typed, transient failure; a keyset never
			// cached fails the same way.
			clk.Set(loadedAt.Add(cfg.CacheTTL + cfg.StalePeriod + time.Second))
			start := time.Now()
			_, err := kr.DataKeys(ctx, "acme", "pii")
			wantUnavailable(t, "DataKeys(acme, pii) past StalePeriod", err, kms.CodeUnavailable)
			t.Logf("Vault down, past StalePeriod: DataKeys failed in %v: %v", time.Since(start).Round(time.Millisecond), err)
			start = time.Now()
			_, err = kr.DataKeys(ctx, fmt.Sprintf("globex-%d", i), "pii")
			wantUnavailable(t, "DataKeys(globex, pii) of a keyset never loaded", err, kms.CodeUnavailable)
			t.Logf("Vault down, keyset never loaded: DataKeys failed in %v", time.Since(start).Round(time.Millisecond))

			// Within RetryBackoff the failure is remembered: no KMS call.
			calls = kr.Stats().KMSCalls
			if _, err := kr.DataKeys(ctx, "acme", "pii"); !errors.Is(err, keyring.ErrKEKUnavailable) {
				t.Errorf("DataKeys() within RetryBackoff err = %v, want the remembered ErrKEKUnavailable", err)
			}
			if got := kr.Stats().KMSCalls - calls; got != 0 {
				t.Errorf("a lookup within RetryBackoff made %d KMS calls, want 0", got)
			}

			// Vault is back but sealed: still transient.
			srv.start(t)
			clk.Advance(cfg.RetryBackoff + time.Second)
			start = time.Now()
			_, err = kr.DataKeys(ctx, "acme", "pii")
			if kms.CodeOf(err) == kms.CodeDeadlineExceeded {
				// On a loaded machine the client's retries of the 503
				// answers can outlast LoadTimeout: still the typed,
				// transient failure this checks, by another road.
				wantUnavailable(t, "DataKeys() with Vault sealed", err, kms.CodeDeadlineExceeded)
			} else {
				wantUnavailable(t, "DataKeys() with Vault sealed", err, kms.CodeUnavailable)
				var verr *vault.VaultError
				if !errors.As(err, &verr) || verr.Response.StatusCode != 503 {
					t.Errorf("DataKeys() with Vault sealed err = %v, want a *vault.VaultError with status 503", err)
				}
			}
			t.Logf("Vault sealed: DataKeys failed in %v (the client retries 503 answers)", time.Since(start).Round(time.Millisecond))

			// Unsealed: the same keyring recovers on the next load.
			srv.unseal(t)
			clk.Advance(cfg.RetryBackoff + time.Second)
			start = time.Now()
			warm.check(t, kr, "after Vault was unsealed")
			t.Logf("Vault unsealed: the same keyring reloaded both keysets in %v", time.Since(start).Round(time.Millisecond))
			loadedAt = clk.Now()
			if _, err := kr.DataKeys(ctx, fmt.Sprintf("globex-%d", i), "pii"); err != nil {
				t.Errorf("DataKeys(globex, pii) after recovery err = %v", err)
			}
		})
		if !ok {
			return
		}
	}
}

// TestVaultSlowKEK puts a TCP proxy that adds latency between the keyring
// and Vault: loads then fail within LoadTimeout with a deadline-class
// transient error, cached keysets serve without waiting, and removing the
// latency recovers.
func TestVaultSlowKEK(t *testing.T) {
	srv := startVaultServer(t)
	proxy := startLatencyProxy(t, strings.TrimPrefix(srv.addr, "http://"))
	clk := &outageClock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	const latency = 3 * time.Second
	cfg := keyring.Config{
		Store:        keyring.NewMemoryStore(),
		Opener:       vaultOpener("http://"+proxy.Addr(), srv.rootToken),
		DefaultKEK:   outageKEK,
		CacheTTL:     keyring.DefaultCacheTTL,
		StalePeriod:  keyring.DefaultStalePeriod,
		RetryBackoff: keyring.DefaultRetryBackoff,
		LoadTimeout:  500 * time.Millisecond,
	}
	kr, err := keyring.NewWithClock(cfg, clk.Now)
	if err != nil {
		t.Fatalf("keyring.New() err = %v", err)
	}
	ctx := context.Background()
	warm := warmKeysets(t, kr, "acme", "pii")
	loadedAt := clk.Now()

	proxy.SetLatency(latency)

	// Past CacheTTL: the cached keyset is served at once; the background
	// reload times out.
	clk.Set(loadedAt.Add(cfg.CacheTTL + time.Second))
	errs := kr.Stats().LoadErrors
	start := time.Now()
	warm.check(t, kr, "past CacheTTL with a slow Vault")
	if d := time.Since(start); d >= cfg.LoadTimeout {
		t.Errorf("a stale lookup with a slow Vault took %v, want it served from the cache without waiting", d)
	}
	waitFor(t, "a timed-out background reload", func() bool { return kr.Stats().LoadErrors > errs })
	clk.Advance(cfg.RetryBackoff + time.Second)
	warm.check(t, kr, "past CacheTTL, after a timed-out reload")

	// A keyset not cached: fails after LoadTimeout, not after the latency.
	start = time.Now()
	_, err = kr.DataKeys(ctx, "globex", "pii")
	elapsed := time.Since(start)
	wantUnavailable(t, "DataKeys(globex, pii) with a slow Vault", err, kms.CodeDeadlineExceeded)
	if elapsed < cfg.LoadTimeout || elapsed >= latency {
		t.Errorf("DataKeys(globex, pii) with a slow Vault failed after %v, want between LoadTimeout %v and the latency %v", elapsed, cfg.LoadTimeout, latency)
	}
	t.Logf("slow Vault (+%v per request), LoadTimeout %v: a cache miss failed in %v: %v", latency, cfg.LoadTimeout, elapsed.Round(time.Millisecond), err)

	// Past StalePeriod: the cached keyset fails the same way.
	clk.Set(loadedAt.Add(cfg.CacheTTL + cfg.StalePeriod + time.Second))
	_, err = kr.DataKeys(ctx, "acme", "pii")
	wantUnavailable(t, "DataKeys(acme, pii) past StalePeriod with a slow Vault", err, kms.CodeDeadlineExceeded)

	// Latency removed: the same keyring recovers.
	proxy.SetLatency(0)
	clk.Advance(cfg.RetryBackoff + time.Second)
	warm.check(t, kr, "after the latency was removed")
	if _, err := kr.DataKeys(ctx, "globex", "pii"); err != nil {
		t.Errorf("DataKeys(globex, pii) after the latency was removed err = %v", err)
	}
}

// wantUnavailable checks that err is the keyring's transient KEK failure
// with the given code.
func wantUnavailable(t *testing.T, call string, err error, code kms.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s err = nil, want keyring.ErrKEKUnavailable", call)
	}
	if !errors.Is(err, keyring.ErrKEKUnavailable) || !kms.IsTransient(err) {
		t.Errorf("%s err = %v, want keyring.ErrKEKUnavailable and kms.IsTransient", call, err)
	}
	if got := kms.CodeOf(err); got != code {
		t.Errorf("%s: kms.CodeOf(err) = %v, want %v", call, got, code)
	}
	var kerr *keyring.Error
	if !errors.As(err, &kerr) {
		t.Errorf("%s err = %v, want a *keyring.Error naming the keyset", call, err)
	}
}

// warmKeyset is a scope's data and index keysets, loaded once, with a value
// written under them: check proves that later loads (or the cache) serve
// the same keys.
type warmKeyset struct {
	scope, class string
	ciphertext   []byte
	plaintext    []byte
	index        []byte // the primary index key's PRF of plaintext
}

func warmKeysets(t *testing.T, kr *keyring.Keyring, scope, class string) *warmKeyset {
	t.Helper()
	w := &warmKeyset{scope: scope, class: class, plaintext: []byte("ada@example.com")}
	dk, err := kr.DataKeys(context.Background(), scope, class)
	if err != nil {
		t.Fatalf("DataKeys(%s, %s) with Vault up err = %v", scope, class, err)
	}
	if w.ciphertext, err = dk.Encrypt(w.plaintext, []byte(scope)); err != nil {
		t.Fatal(err)
	}
	ik, err := kr.IndexKeys(context.Background(), scope, class)
	if err != nil {
		t.Fatalf("IndexKeys(%s, %s) with Vault up err = %v", scope, class, err)
	}
	if w.index, err = ik.Compute(ik.PrimaryID(), w.plaintext, 16); err != nil {
		t.Fatal(err)
	}
	return w
}

// check looks both keysets up and uses them: the data keys decrypt the
// value written at warm-up and encrypt a new one, the index keys compute
// the same index value.
func (w *warmKeyset) check(t *testing.T, kr *keyring.Keyring, when string) {
	t.Helper()
	ctx := context.Background()
	dk, err := kr.DataKeys(ctx, w.scope, w.class)
	if err != nil {
		t.Fatalf("DataKeys(%s, %s) %s err = %v, want the keyset", w.scope, w.class, when, err)
	}
	if pt, err := dk.Decrypt(w.ciphertext, []byte(w.scope)); err != nil || !bytes.Equal(pt, w.plaintext) {
		t.Fatalf("Decrypt() %s = %q, %v; want the value written at warm-up", when, pt, err)
	}
	if _, err := dk.Encrypt(w.plaintext, []byte(w.scope)); err != nil {
		t.Fatalf("Encrypt() %s err = %v", when, err)
	}
	ik, err := kr.IndexKeys(ctx, w.scope, w.class)
	if err != nil {
		t.Fatalf("IndexKeys(%s, %s) %s err = %v, want the keyset", w.scope, w.class, when, err)
	}
	if got, err := ik.Compute(ik.PrimaryID(), w.plaintext, 16); err != nil || !bytes.Equal(got, w.index) {
		t.Fatalf("index value %s = %x, %v; want %x, as at warm-up", when, got, err, w.index)
	}
}

// vaultOpener returns an opener of hcvault:// URIs on the Vault at addr.
func vaultOpener(addr, token string) *kms.Opener {
	o := kms.NewOpener()
	o.Register(vault.Scheme, vault.OpenFunc(&vault.Options{Address: addr, Token: token}))
	return o
}

// outageClock is a manual clock for keyring.NewWithClock.
type outageClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *outageClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *outageClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func (c *outageClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// vaultBinary returns the path of the Vault server binary: the environment
// variable FIELDCRYPT_VAULT_BIN, else where scripts/vault-dev.sh builds it.
func vaultBinary() (string, error) {
	path := os.Getenv("FIELDCRYPT_VAULT_BIN")
	if path == "" {
		root := os.Getenv("FIELDCRYPT_CACHE")
		if root == "" {
			cache := os.Getenv("XDG_CACHE_HOME")
			if cache == "" {
				home, err := os.UserHomeDir()
				if err != nil {
					return "", fmt.Errorf("no cache folder: %w", err)
				}
				cache = filepath.Join(home, ".cache")
			}
			root = filepath.Join(cache, "fieldcrypt")
		}
		path = filepath.Join(root, "vault-1.21.0", "vault")
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%w (scripts/vault-dev.sh build makes it; FIELDCRYPT_VAULT_BIN names another)", err)
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%s is not an executable file", path)
	}
	return path, nil
}

// vaultServer is a Vault server process of one test: not in dev mode, with
// file storage, so that it survives a restart sealed and keeps its keys.
type vaultServer struct {
	bin, dir, config, logPath string
	addr                      string // http://127.0.0.1:<port>
	unsealKey, rootToken      string
	admin                     *api.Client // root token, straight to the server

	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
}

// startVaultServer starts a server on a free loopback port, initialises it
// with one key share, unseals it, enables Transit and creates outageKEK.
// The test stops it when it ends.
func startVaultServer(t *testing.T) *vaultServer {
	t.Helper()
	bin, err := vaultBinary()
	testenv.Require(t, "Vault binary", err)
	s := &vaultServer{bin: bin, dir: t.TempDir()}
	t.Cleanup(func() { s.kill() })
	s.logPath = filepath.Join(s.dir, "vault.log")
	// The port is found free, closed, then handed to Vault: another process
	// may take it in between, so try a few.
	var lastErr error
	for range 3 {
		if lastErr = s.configure(); lastErr != nil {
			t.Fatal(lastErr)
		}
		if lastErr = s.launch(); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		t.Fatalf("starting Vault: %v\n%s", lastErr, s.logTail())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := s.admin.Sys().InitWithContext(ctx, &api.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatalf("sys/init err = %v", err)
	}
	if len(resp.KeysB64) != 1 || resp.RootToken == "" {
		t.Fatalf("sys/init returned %d key shares and a root token %t, want 1 and true", len(resp.KeysB64), resp.RootToken != "")
	}
	s.unsealKey, s.rootToken = resp.KeysB64[0], resp.RootToken
	s.admin.SetToken(s.rootToken)
	s.unseal(t)
	if err := s.admin.Sys().MountWithContext(ctx, "transit", &api.MountInput{Type: "transit"}); err != nil {
		t.Fatalf("enabling transit err = %v", err)
	}
	_, name, err := vault.ParseURI(outageKEK)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.admin.Logical().WriteWithContext(ctx, "transit/keys/"+name, map[string]any{"type": "aes256-gcm96"}); err != nil {
		t.Fatalf("creating transit key %s err = %v", name, err)
	}
	return s
}

// configure picks a free loopback port and writes the server's config.
func (s *vaultServer) configure() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hostport := ln.Addr().String()
	ln.Close()
	s.addr = "http://" + hostport
	s.config = filepath.Join(s.dir, "vault.hcl")
	hcl := fmt.Sprintf(`storage "file" {
  path = %q
}
listener "tcp" {
  address     = %q
  tls_disable = true
}
api_addr           = %q
disable_mlock      = true
disable_clustering = true
ui                 = false
log_level          = "warn"
`, filepath.Join(s.dir, "data"), hostport, s.addr)
	if err := os.WriteFile(s.config, []byte(hcl), 0o600); err != nil {
		return err
	}
	cfg := api.DefaultConfig()
	cfg.Address = s.addr
	cfg.MaxRetries = 0
	cfg.Timeout = 10 * time.Second
	if s.admin, err = api.NewClient(cfg); err != nil {
		return err
	}
	s.admin.SetNamespace("")
	s.admin.SetToken(s.rootToken)
	return nil
}

// launch starts the server process and waits until it answers HTTP
// (sealed or not).
func (s *vaultServer) launch() error {
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(s.bin, "server", "-config="+s.config)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = vaultServerEnv()
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	s.cmd, s.exited = cmd, exited
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := s.admin.Sys().InitStatusWithContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("vault server exited during start-up (%v)", cmd.ProcessState)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.kill()
			return fmt.Errorf("vault server did not answer on %s within 30s: %v", s.addr, err)
		}
	}
}

// vaultServerEnv is this process's environment without VAULT_* variables,
// which would override the server's config.
func vaultServerEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VAULT_") {
			env = append(env, kv)
		}
	}
	return env
}

// start starts the server again with the same config and storage. It comes
// up sealed.
func (s *vaultServer) start(t *testing.T) {
	t.Helper()
	if err := s.launch(); err != nil {
		t.Fatalf("restarting Vault: %v\n%s", err, s.logTail())
	}
	st, err := s.admin.Sys().SealStatusWithContext(context.Background())
	if err != nil || !st.Sealed {
		t.Fatalf("restarted Vault: seal status = %+v, %v; want sealed", st, err)
	}
}

// unseal unseals the server and waits until it is active.
func (s *vaultServer) unseal(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := s.admin.Sys().UnsealWithContext(ctx, s.unsealKey)
	if err != nil || st.Sealed {
		t.Fatalf("unsealing Vault: status = %+v, %v; want unsealed", st, err)
	}
	waitFor(t, "Vault to be active", func() bool {
		h, err := s.admin.Sys().HealthWithContext(ctx)
		return err == nil && h.Initialized && !h.Sealed && !h.Standby
	})
}

// stop sends sig to the server and waits for it to exit (killing it if a
// graceful stop takes over 30 seconds); then nothing answers on its port.
func (s *vaultServer) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signalling Vault with %v: %v", sig, err)
	}
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		s.kill()
		t.Fatalf("Vault did not exit within 30s of %v", sig)
	}
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(s.addr, "http://"), time.Second); err == nil {
		c.Close()
		t.Fatalf("something still answers on %s after Vault exited", s.addr)
	}
}

// kill ends the server process, if it runs, and waits for it.
func (s *vaultServer) kill() {
	if s.cmd == nil {
		return
	}
	select {
	case <-s.exited:
	default:
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// logTail returns the end of the server's log, for failure messages.
func (s *vaultServer) logTail() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return ""
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return "vault log:\n" + string(b)
}

// latencyProxy forwards TCP connections to an upstream address, delaying
// every chunk sent upstream by a settable latency.
type latencyProxy struct {
	ln       net.Listener
	upstream string
	latency  atomic.Int64 // time.Duration
	closed   chan struct{}
	once     sync.Once

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// startLatencyProxy listens on 127.0.0.1:0 and forwards to upstream until
// the test ends.
func startLatencyProxy(t *testing.T, upstream string) *latencyProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p := &latencyProxy{ln: ln, upstream: upstream, closed: make(chan struct{}), conns: make(map[net.Conn]struct{})}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

// Addr returns the host:port the proxy listens on.
func (p *latencyProxy) Addr() string { return p.ln.Addr().String() }

// SetLatency sets the delay added before each chunk is sent upstream.
func (p *latencyProxy) SetLatency(d time.Duration) { p.latency.Store(int64(d)) }

func (p *latencyProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.handle(c)
	}
}

func (p *latencyProxy) handle(client net.Conn) {
	defer p.wg.Done()
	upstream, err := net.DialTimeout("tcp", p.upstream, 5*time.Second)
	if err != nil {
		client.Close()
		return
	}
	if !p.track(client, upstream) {
		return
	}
	done := make(chan struct{}, 2)
	go func() { p.forward(upstream, client); done <- struct{}{} }()
	go func() { io.Copy(client, upstream); done <- struct{}{} }()
	<-done // either side ended: end both
	client.Close()
	upstream.Close()
	<-done
	p.untrack(client, upstream)
}

// forward copies src to dst, waiting the current latency before each chunk.
func (p *latencyProxy) forward(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if d := time.Duration(p.latency.Load()); d > 0 && !p.wait(d) {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// wait waits d, or less once the latency is removed: a chunk sent while
// Vault was slow must not delay a request made after it recovered (on a
// connection the client reuses). It reports false when the proxy closed.
func (p *latencyProxy) wait(d time.Duration) bool {
	end := time.Now().Add(d)
	for time.Now().Before(end) && p.latency.Load() > 0 {
		select {
		case <-time.After(10 * time.Millisecond):
		case <-p.closed:
			return false
		}
	}
	return true
}

func (p *latencyProxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.closed:
		for _, c := range conns {
			c.Close()
		}
		return false
	default:
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *latencyProxy) untrack(conns ...net.Conn) {
	p.mu.Lock()
	for _, c := range conns {
		delete(p.conns, c)
	}
	p.mu.Unlock()
}

// close stops the proxy and ends every connection through it: the
// upstream becomes unreachable. Calls after the first do nothing.
func (p *latencyProxy) close() {
	p.once.Do(func() {
		p.mu.Lock()
		close(p.closed)
		p.ln.Close()
		for c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
}
