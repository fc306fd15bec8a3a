package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Role is what the service may read, decided by the KEKs it is given.
type Role string

// The roles. Account managers (the third row of the role table) differ from
// administrators by which tenants they serve, not by which classes they
// read: that is an authorization check in front of the service, not a key.
const (
	RoleAdmin   Role = "admin"   // holds every class's KEK
	RoleSupport Role = "support" // holds the support KEK only
)

// classes returns the field classes whose KEKs the role holds.
func (r Role) classes() []string {
	if r == RoleSupport {
		return []string{classSupport}
	}
	return []string{classPII, classSupport}
}

// Config is the service's configuration. Each field has a flag and an
// environment variable; a flag given on the command line wins.
type Config struct {
	Addr    string // -addr, CRM_ADDR: listen address
	DB      string // -db, CRM_DB: "" (SQLite in DataDir), sqlite:<path> or postgres://...
	DataDir string // -data, CRM_DATA: the SQLite file and the development KEK files
	Role    Role   // -role, CRM_ROLE: admin or support

	// Anchor is the rollback anchor's database (-anchor, CRM_ANCHOR): ""
	// for the SQLite file anchor.db in DataDir, sqlite:<path> or
	// postgres://.... It records the latest version of every keyset
	// outside the CRM database, which holds the keysets, so that a writer
	// of that database cannot undo a shred or a key destruction by putting
	// old keyset rows back (see anchor.go). It must not be the CRM
	// database.
	Anchor string

	// KEKs maps a class to its KEK URI (-kek-pii, -kek-support,
	// CRM_KEK_PII, CRM_KEK_SUPPORT). A class the role holds and that has
	// none gets a local development KEK in DataDir/keks.
	KEKs map[string]string

	Seed      bool   // -seed, CRM_SEED: insert sample contacts into an empty database
	LogFormat string // -log, CRM_LOG: text or json
}

// DefaultDataDir is where the service keeps its SQLite file and development
// KEKs unless told otherwise: a fixed directory under the system's temporary
// directory, so that a restart finds its data again and nothing is written
// into the source tree. Remove it to start afresh.
func DefaultDataDir() string { return filepath.Join(os.TempDir(), "fieldcrypt-crm") }

// parseConfig reads the configuration from args (without the program name)
// and from the environment through getenv. Usage and errors go to out.
func parseConfig(args []string, getenv func(string) string, out io.Writer) (Config, error) {
	env := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	seedDefault, err := strconv.ParseBool(env("CRM_SEED", "true"))
	if err != nil {
		return Config{}, fmt.Errorf("CRM_SEED=%q: want true or false", getenv("CRM_SEED"))
	}

	fs := flag.NewFlagSet("crm", flag.ContinueOnError)
	fs.SetOutput(out)
	var cfg Config
	var role, kekPII, kekSupport string
	fs.StringVar(&cfg.Addr, "addr", env("CRM_ADDR", "127.0.0.1:8080"), "listen `address` (env CRM_ADDR)")
	fs.StringVar(&cfg.DB, "db", env("CRM_DB", ""), "database `DSN`: empty for SQLite in the data directory, sqlite:PATH, or postgres://... (env CRM_DB)")
	fs.StringVar(&cfg.DataDir, "data", env("CRM_DATA", DefaultDataDir()), "`directory` for the SQLite file and the development KEKs (env CRM_DATA)")
	fs.StringVar(&cfg.Anchor, "anchor", env("CRM_ANCHOR", ""), "rollback anchor `DSN`: a database the CRM database's writers cannot write; empty for anchor.db in the data directory, sqlite:PATH, or postgres://... (env CRM_ANCHOR)")
	fs.StringVar(&role, "role", env("CRM_ROLE", string(RoleAdmin)), "`role`: admin (every class) or support (interaction history, no personal data) (env CRM_ROLE)")
	fs.StringVar(&kekPII, "kek-pii", env("CRM_KEK_PII", ""), "KEK `URI` of class pii (local://, hcvault://); default a development key file in the data directory (env CRM_KEK_PII)")
	fs.StringVar(&kekSupport, "kek-support", env("CRM_KEK_SUPPORT", ""), "KEK `URI` of class support; default a development key file in the data directory (env CRM_KEK_SUPPORT)")
	fs.BoolVar(&cfg.Seed, "seed", seedDefault, "insert sample contacts when the database has none (env CRM_SEED)")
	fs.StringVar(&cfg.LogFormat, "log", env("CRM_LOG", "text"), "log `format`: text or json (env CRM_LOG)")
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: crm [flags]\n\nA small CRM HTTP/JSON service on fieldcrypt. With no flags it runs on SQLite in\n%s with local development KEKs.\n\nFlags:\n", DefaultDataDir())
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q (flags only)", fs.Arg(0))
	}
	cfg.Role = Role(role)
	cfg.KEKs = map[string]string{}
	if kekPII != "" {
		cfg.KEKs[classPII] = kekPII
	}
	if kekSupport != "" {
		cfg.KEKs[classSupport] = kekSupport
	}
	return cfg, cfg.validate()
}

// validate checks the parts of cfg that need no I/O.
func (cfg Config) validate() error {
	switch cfg.Role {
	case RoleAdmin, RoleSupport:
	default:
		return fmt.Errorf("role %q: want admin or support", cfg.Role)
	}
	if cfg.Role == RoleSupport && cfg.KEKs[classPII] != "" {
		return errors.New("role support holds no pii KEK: drop -kek-pii / CRM_KEK_PII")
	}
	if cfg.DataDir == "" {
		return errors.New("data directory is empty")
	}
	if cfg.LogFormat != "text" && cfg.LogFormat != "json" {
		return fmt.Errorf("log format %q: want text or json", cfg.LogFormat)
	}
	crmKind, crmTarget, err := databaseKind(cfg.DB)
	if err != nil {
		return err
	}
	anchorKind, anchorTarget, err := anchorKind(cfg.Anchor)
	if err != nil {
		return err
	}
	if sameDatabase(anchorKind, cfg.anchorTarget(anchorTarget), crmKind, cfg.crmTarget(crmTarget)) {
		return errors.New("-anchor names the CRM database: the anchor guards the keysets against the writers of that database, so it must live where they cannot write (another database, with its own credentials)")
	}
	return nil
}

// crmTarget is the path of the SQLite database, or the DSN of the
// PostgreSQL one, that databaseKind returned as target.
func (cfg Config) crmTarget(target string) string {
	if target == "" {
		return filepath.Join(cfg.DataDir, "crm.db")
	}
	return target
}

// anchorTarget is the path of the SQLite anchor, or the DSN of the
// PostgreSQL one, that anchorKind returned as target.
func (cfg Config) anchorTarget(target string) string {
	if target == "" {
		return filepath.Join(cfg.DataDir, "anchor.db")
	}
	return target
}

// anchorKind tells the database an -anchor value names, and its DSN or
// path ("" for the default file).
func anchorKind(anchor string) (kind, target string, err error) {
	if anchor == "" {
		return "sqlite", "", nil
	}
	kind, target, err = databaseKind(anchor)
	if err != nil {
		return "", "", errors.New("-anchor: want postgres://..., postgresql://... or sqlite:<path>")
	}
	return kind, target, nil
}

// databaseKind tells the database a -db value names, and its DSN or path.
func databaseKind(db string) (kind, target string, err error) {
	switch {
	case db == "":
		return "sqlite", "", nil
	case strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
		return "postgres", db, nil
	case strings.HasPrefix(db, "sqlite:"):
		path := strings.TrimPrefix(db, "sqlite:")
		if path == "" {
			return "", "", errors.New("-db sqlite: needs a file path (sqlite:crm.db)")
		}
		return "sqlite", path, nil
	}
	// Do not echo the value: a DSN may hold a password.
	return "", "", errors.New("-db: want postgres://..., postgresql://... or sqlite:<path>")
}

// sameDatabase reports whether two databases, each a kind and a target
// (a SQLite path, a PostgreSQL URL), are one: the same SQLite file, or the
// same PostgreSQL server and database whatever the user, schema
// (search_path) or other parameters. A schema of the CRM database is
// still the CRM database: its owners can write there.
func sameDatabase(kindA, a, kindB, b string) bool {
	if kindA != kindB {
		return false
	}
	if kindA == "sqlite" {
		return cleanPath(a) == cleanPath(b)
	}
	sa, okA := postgresServer(a)
	sb, okB := postgresServer(b)
	return okA && okB && sa == sb
}

// cleanPath is a SQLite path without URI parameters, absolute and
// cleaned.
func cleanPath(path string) string {
	path, _, _ = strings.Cut(path, "?")
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return filepath.Clean(path)
}

// postgresServer is the host (loopback as "localhost"), port (5432 when
// none is given) and database (the user's name when none is given) of a
// PostgreSQL URL.
func postgresServer(dsn string) (server [3]string, ok bool) {
	u, err := url.Parse(dsn)
	if err != nil {
		return server, false
	}
	host := strings.ToLower(u.Hostname())
	switch host {
	case "", "127.0.0.1", "::1":
		host = "localhost"
	}
	port := cmp.Or(u.Port(), "5432")
	db := cmp.Or(strings.TrimPrefix(u.Path, "/"), u.User.Username())
	return [3]string{host, port, db}, true
}
