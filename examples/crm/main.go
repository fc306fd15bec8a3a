// Command crm is a small CRM HTTP/JSON service built on fieldcrypt: contacts
// with encrypted personal data, searchable by e-mail and by the last four
// digits of their phone number through blind indexes, and an encrypted
// interaction history.
//
//	go run ./examples/crm
//
// With no flags it keeps a SQLite database and two local development KEKs
// (one per field class, created on first start) in the data directory
// (-data, default fieldcrypt-crm in the system's temporary directory), seeds
// sample contacts, listens on 127.0.0.1:8080 and prints curl lines to try.
// With -db postgres://... it keeps the contacts and the keysets in
// PostgreSQL instead. The data layer is GORM with fieldcrypt's plugin
// (package gormcrypt): models in model.go, queries in store.go. Every flag has an environment variable (CRM_ADDR,
// CRM_DB, CRM_DATA, CRM_ANCHOR, CRM_ROLE, CRM_KEK_PII, CRM_KEK_SUPPORT,
// CRM_SEED, CRM_LOG); run with -h for the list.
//
// The keysets live in the CRM database; their rollback anchor (-anchor,
// default anchor.db in the data directory) records their versions in
// another database, so that a writer of the CRM database cannot undo a
// shred by putting old keyset rows back.
//
// # The role table, enforced by keys
//
// Personal fields (name, e-mail, phone) are class pii; notes and the
// interaction history are class support. The admin role (default) holds
// both classes' KEKs. Started with -role support, the service holds only
// the support KEK: it serves the interaction history, returns contacts with
// their personal fields null and listed under "redacted", and answers 403
// to e-mail and phone searches, whose index keys are class pii. No check in
// this program decides that: the keys it holds do.
//
// # API
//
//	POST   /tenants/{tenant}/contacts                      create
//	GET    /tenants/{tenant}/contacts                      list (?after=ID&limit=N)
//	GET    /tenants/{tenant}/contacts?email=...            lookup by e-mail (any case, spaces trimmed)
//	GET    /tenants/{tenant}/contacts?phone_last4=NNNN     lookup by the phone's last four digits
//	GET    /tenants/{tenant}/contacts/{id}                 read
//	PUT    /tenants/{tenant}/contacts/{id}                 replace
//	DELETE /tenants/{tenant}/contacts/{id}                 delete (admin only)
//	GET    /tenants/{tenant}/contacts/{id}/interactions    history
//	POST   /tenants/{tenant}/contacts/{id}/interactions    add to the history
//
// Errors are {"error": {"code": ..., "message": ...}} with a fitting status.
// The README walks through it with curl.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "crm:", err)
		os.Exit(2)
	}
	log := newLogger(os.Stderr, cfg.LogFormat)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout, log); err != nil {
		log.Error("crm stopped", "err", err)
		stop()
		os.Exit(1)
	}
}

// run starts the service and serves until ctx is done.
func run(ctx context.Context, cfg Config, stdout io.Writer, log *slog.Logger) error {
	s, err := newServer(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer s.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	printHowTo(stdout, "http://"+ln.Addr().String(), s)
	log.Info("listening", "addr", ln.Addr().String(), "role", cfg.Role)
	if err := serve(ctx, ln, s.routes(), log); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}
