package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/keyring/sqlstore"
)

// server is the CRM service: its database, its role's keyring and the
// encryptor built on it.
type server struct {
	cfg    Config
	db     *database // GORM, with fieldcrypt's plugin registered
	anchor *anchorDB // the rollback anchor, in another database
	kr     *keyring.Keyring
	enc    *crypt.Encryptor
	log    *slog.Logger
	now    func() time.Time
}

// newServer opens the database, creates the tables, builds the role's
// keyring and, for an admin on an empty database with cfg.Seed, inserts the
// sample contacts.
func newServer(ctx context.Context, cfg Config, log *slog.Logger) (_ *server, err error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	// The KEK URIs of development key files are stored beside each keyset
	// and must not depend on the working directory: make the path absolute.
	if cfg.DataDir, err = filepath.Abs(cfg.DataDir); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	s := &server{cfg: cfg, log: log, now: time.Now}
	if err := crypt.Validate(&Contact{}); err != nil {
		return nil, err
	}
	if err := crypt.Validate(&Interaction{}); err != nil {
		return nil, err
	}

	if s.db, err = openDatabase(ctx, cfg, func() time.Time { return s.now() }); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	// The keyset store shares the database, through GORM's connection pool.
	store, err := sqlstore.New(s.db.pool, s.db.dialect, nil)
	if err != nil {
		return nil, err
	}
	if err := s.db.migrate(ctx, store); err != nil {
		return nil, err
	}
	if s.anchor, err = openAnchor(ctx, cfg); err != nil {
		return nil, err
	}
	if s.kr, err = newKeyring(cfg, store, s.anchor, log); err != nil {
		return nil, err
	}
	s.enc = crypt.New(s.kr, nil)
	if err := s.db.use(s.enc); err != nil {
		return nil, err
	}
	if err := s.db.migrateTokens(ctx); err != nil {
		return nil, err
	}

	tenants, err := s.db.someTenants(ctx, kekCheckTenants)
	if err != nil {
		return nil, err
	}
	if err := checkKEKs(ctx, s.kr, cfg.Role, tenants, log); err != nil {
		return nil, err
	}
	if cfg.Seed {
		if err := s.seed(ctx); err != nil {
			return nil, fmt.Errorf("seed sample contacts: %w", err)
		}
	}
	log.Info("database ready", "database", s.db.where, "anchor", s.anchor.where)
	return s, nil
}

// Close releases the keyring and the database.
func (s *server) Close() error {
	var errs []error
	if s.kr != nil {
		errs = append(errs, s.kr.Close())
	}
	if s.anchor != nil {
		errs = append(errs, s.anchor.Close())
	}
	if s.db != nil {
		errs = append(errs, s.db.Close())
	}
	return errors.Join(errs...)
}

// routes returns the service's HTTP handler.
func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.health)

	mux.HandleFunc("POST /tenants/{tenant}/contacts", s.createContact)
	mux.HandleFunc("GET /tenants/{tenant}/contacts", s.listContacts)
	mux.HandleFunc("/tenants/{tenant}/contacts", methodNotAllowed("GET, POST"))

	mux.HandleFunc("GET /tenants/{tenant}/contacts/{id}", s.getContact)
	mux.HandleFunc("PUT /tenants/{tenant}/contacts/{id}", s.updateContact)
	mux.HandleFunc("DELETE /tenants/{tenant}/contacts/{id}", s.deleteContact)
	mux.HandleFunc("/tenants/{tenant}/contacts/{id}", methodNotAllowed("GET, PUT, DELETE"))

	mux.HandleFunc("GET /tenants/{tenant}/contacts/{id}/interactions", s.listInteractions)
	mux.HandleFunc("POST /tenants/{tenant}/contacts/{id}/interactions", s.addInteraction)
	mux.HandleFunc("/tenants/{tenant}/contacts/{id}/interactions", methodNotAllowed("GET, POST"))

	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint; see the README for the API")
	})
	return s.logRequests(mux)
}

func (s *server) health(w http.ResponseWriter, r *http.Request) {
	if err := s.db.pool.PingContext(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "role": s.cfg.Role})
}

// serve serves h on ln until ctx is done, then shuts down gracefully.
func serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
