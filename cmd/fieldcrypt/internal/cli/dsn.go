package cli

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fieldcrypt/fieldcrypt/keyring/sqlstore"
)

// dataSource is a parsed store or database DSN.
//
//	sqlite:PATH                      SQLite file (modernc.org/sqlite), busy timeout and WAL set
//	postgres://USER@HOST/DB?...      PostgreSQL through pgx (postgresql:// too)
//	mysql://USER:PASS@HOST:PORT/DB?...  MySQL or MariaDB, mapped to a go-sql-driver DSN with parseTime=true
//	dir:PATH                         a keyring/filestore directory (keyset store only)
type dataSource struct {
	kind    string // "sqlite", "postgres", "mysql" or "dir"
	driver  string // database/sql driver name
	source  string // the driver's DSN; may hold a password: never print it
	path    string // the file or directory, for sqlite and dir
	dialect sqlstore.Dialect
	shown   string // safe to print: every secret replaced by xxxxx (shownURL)
	// servers are the databases a postgres or mysql DSN may connect to,
	// for sameDatabase: host (loopback names and socket directories as
	// "localhost"), port (the default filled in) and database name.
	servers []server
}

// server is one database a DSN may connect to.
type server struct{ host, port, database string }

// sameDatabase reports whether a and b may name the same database: the
// same SQLite file (paths made absolute and cleaned, parameters dropped),
// or a server host, port and database name in common, whatever the user,
// password, schema or other parameters. Host names are compared as
// written (loopback names aside): two names of one server are not caught.
func sameDatabase(a, b dataSource) bool {
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case "sqlite", "dir":
		return cleanPath(a.path) == cleanPath(b.path)
	case "postgres", "mysql":
		for _, s := range a.servers {
			if slices.Contains(b.servers, s) {
				return true
			}
		}
	}
	return false
}

// cleanPath is path without SQLite URI parameters, absolute and cleaned.
func cleanPath(path string) string {
	path, _, _ = strings.Cut(path, "?")
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return filepath.Clean(path)
}

// serverOf adds the server u names to ds.servers, with defaultPort when u
// has none. A PostgreSQL URL without a database name names the user's
// database.
func serverOf(ds *dataSource, u *url.URL, defaultPort string) {
	port := u.Port()
	if port == "" {
		port = defaultPort
	}
	if n, err := strconv.Atoi(port); err == nil {
		port = strconv.Itoa(n) // 03306 is 3306
	}
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" && ds.kind == "postgres" {
		db = u.User.Username()
	}
	ds.servers = append(ds.servers, server{hostName(u.Hostname()), port, db})
}

// pgServers sets ds.servers to every server pgx would try for a postgres
// DSN. pgx reads more than the URL's host and path: host=, port=, dbname=
// and service= parameters, several hosts, and the PG* environment
// variables, any of which can point a DSN whose URL names one database at
// another. A DSN pgx cannot parse keeps what its URL names: it cannot
// connect either.
func pgServers(ds *dataSource) {
	cfg, err := pgconn.ParseConfig(ds.source)
	if err != nil {
		return
	}
	ds.servers = nil
	db := cfg.Database
	if db == "" {
		db = cfg.User // the server's default
	}
	add := func(host string, port uint16) {
		ds.servers = append(ds.servers, server{hostName(host), strconv.Itoa(int(port)), db})
	}
	add(cfg.Host, cfg.Port)
	for _, f := range cfg.Fallbacks {
		add(f.Host, f.Port)
	}
}

// hostName is host as sameDatabase compares it: lower case, without a
// final dot, with loopback and unspecified addresses (0.0.0.0 and ::
// connect locally) and Unix socket directories as "localhost" (a local
// socket and a loopback port usually reach one server).
func hostName(host string) string {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "" || host == "localhost" || strings.HasPrefix(host, "/") {
		return "localhost"
	}
	if ip := net.ParseIP(host); ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) {
		return "localhost"
	}
	return host
}

// sqliteParams make concurrent writers wait for each other instead of
// failing with SQLITE_BUSY.
const sqliteParams = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"

var errDSNKinds = errors.New("want sqlite:PATH, postgres://..., mysql://... or dir:PATH")

// parseDSN parses a store or database DSN. Its errors never quote a
// password.
func parseDSN(s string) (dataSource, error) {
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok {
		return dataSource{}, fmt.Errorf("not a DSN (no scheme): %w", errDSNKinds)
	}
	switch strings.ToLower(scheme) {
	case "sqlite", "sqlite3":
		path := strings.TrimPrefix(rest, "//")
		if path == "" {
			return dataSource{}, errors.New("sqlite: no file path (want sqlite:PATH)")
		}
		src := "file:" + path
		if strings.Contains(path, "?") {
			src += "&" + sqliteParams
		} else {
			src += "?" + sqliteParams
		}
		return dataSource{kind: "sqlite", driver: "sqlite", source: src, path: path, dialect: sqlstore.SQLite, shown: "sqlite:" + path}, nil
	case "dir":
		if rest == "" {
			return dataSource{}, errors.New("dir: no directory (want dir:PATH)")
		}
		return dataSource{kind: "dir", path: rest, shown: "dir:" + rest}, nil
	case "postgres", "postgresql":
		// pgx reads a URL only under a lower-case scheme, and anything
		// else as key=value settings.
		s = strings.ToLower(scheme) + ":" + rest
		u, err := parseURL(s)
		if err != nil {
			return dataSource{}, err
		}
		ds := dataSource{kind: "postgres", driver: "pgx", source: s, dialect: sqlstore.Postgres, shown: shownURL(s)}
		serverOf(&ds, u, "5432")
		pgServers(&ds)
		return ds, nil
	case "mysql", "mariadb":
		u, err := parseURL(s)
		if err != nil {
			return dataSource{}, err
		}
		src, err := mysqlDSN(u)
		if err != nil {
			return dataSource{}, fmt.Errorf("%s: %w", shownURL(s), err)
		}
		ds := dataSource{kind: "mysql", driver: "mysql", source: src, dialect: sqlstore.MySQL, shown: shownURL(s)}
		serverOf(&ds, u, "3306")
		return ds, nil
	}
	if !validScheme(scheme) {
		// Not a URL (key=value settings, say): what precedes the first
		// ':' may be part of a password.
		return dataSource{}, fmt.Errorf("not a DSN: %w", errDSNKinds)
	}
	return dataSource{}, fmt.Errorf("unknown DSN kind %q: %w", scheme, errDSNKinds)
}

// validScheme reports whether s is a URL scheme (RFC 3986: a letter, then
// letters, digits, '+', '-' and '.').
func validScheme(s string) bool {
	for i, c := range s {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// parseURL parses a URL DSN without ever returning it, or a part of it
// that may be a password, in an error (url's errors quote the whole URL,
// and the part they reject), and refuses what checkURL refuses.
func parseURL(s string) (*url.URL, error) {
	scheme, _, _ := strings.Cut(s, ":")
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s:// DSN is not a valid URL: %w", scheme, withheld(err))
	}
	if err := checkURL(s); err != nil {
		return nil, fmt.Errorf("%s:// DSN: %w", scheme, err)
	}
	if u.Host == "" {
		// Without a host, the user info is not where shownURL masks it:
		// show the scheme alone.
		return nil, fmt.Errorf("%s: no host", shownURL(scheme+":"))
	}
	return u, nil
}

// mysqlDSN maps mysql://USER:PASS@HOST[:PORT]/DB?PARAMS to
// go-sql-driver/mysql's USER:PASS@tcp(HOST:PORT)/DB?PARAMS, with
// parseTime=true unless the URL sets it.
func mysqlDSN(u *url.URL) (string, error) {
	cfg := mysql.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Net = "tcp"
	cfg.Addr = u.Host
	if u.Port() == "" {
		cfg.Addr = net.JoinHostPort(u.Hostname(), "3306")
	}
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	if cfg.DBName == "" {
		return "", errors.New("no database name (want mysql://USER@HOST/DB)")
	}
	for key := range u.Query() {
		if secretParam(key) {
			return "", fmt.Errorf("query parameter %q is no setting of the MySQL driver, which would send it to the server as a session variable: "+
				"give the password in the user info (mysql://USER:PASS@HOST/DB)", key)
		}
	}
	cfg.ParseTime = true
	base := cfg.FormatDSN()
	if u.RawQuery == "" {
		return base, nil
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	parsed, err := mysql.ParseDSN(base + sep + u.RawQuery)
	if err != nil {
		return "", errors.New("invalid query parameters for the MySQL driver")
	}
	return parsed.FormatDSN(), nil
}
