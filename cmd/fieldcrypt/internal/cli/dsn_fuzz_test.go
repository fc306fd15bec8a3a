package cli

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// marker begins every password the DSN fuzz targets write: no part of
// what parseDSN prints (its error, or the shown form of the DSN it
// accepts) may hold it.
const marker = "S3CRET"

// dsnSchemes are the schemes FuzzDSNSecret writes, picked by number: the
// kinds that may carry a password, and unknown ones (sqlite: and dir: name
// a path, shown whole).
var dsnSchemes = []string{"postgres", "postgresql", "POSTGRES", "mysql", "mariadb", "MySQL", "pg", "host", "http"}

// secretDSN writes a DSN that carries password pw in one of several
// places, picked by number.
func secretDSN(scheme string, place uint8, user, host, db, query, pw string) string {
	q := ""
	if query != "" {
		q = "?" + query
	}
	switch place % 10 {
	case 0: // user info
		return scheme + "://" + user + ":" + pw + "@" + host + "/" + db + q
	case 1: // password= first
		return scheme + "://" + user + "@" + host + "/" + db + "?password=" + pw + strings.Replace(q, "?", "&", 1)
	case 2: // password= last
		if q == "" {
			q = "?"
		} else {
			q += "&"
		}
		return scheme + "://" + user + "@" + host + "/" + db + q + "password=" + pw
	case 3: // pgx's other secret
		return scheme + "://" + user + "@" + host + "/" + db + "?sslpassword=" + pw + strings.Replace(q, "?", "&", 1)
	case 4: // no //
		return scheme + ":" + user + ":" + pw + "@" + host + "/" + db + q
	case 5: // one /
		return scheme + ":/" + user + ":" + pw + "@" + host + "/" + db + q
	case 6: // libpq key=value settings
		return "host=" + host + " user=" + user + " password=" + pw + " dbname=" + db + " " + query
	case 7: // percent-encoded, as it should be written
		return scheme + "://" + url.PathEscape(user) + ":" + url.PathEscape(pw) + "@" + host + "/" + db + q
	case 8: // a secret-looking parameter, name encoded
		return scheme + "://" + user + "@" + host + "/" + db + "?pass%77ord=" + pw + strings.Replace(q, "?", "&", 1)
	default: // no //, and a URL-valued parameter that holds one
		return scheme + ":" + user + ":" + pw + "@" + host + "/" + db + "?sslrootcert=file://x" + strings.Replace(q, "?", "&", 1)
	}
}

// dsnLeaksFixed are DSNs this fuzz target found whose password parseDSN
// once printed: checkURL passed them, as net/url and libpq split them
// alike, yet the password ended up in the host or path, where shownURL
// masks nothing. checkURL now refuses each shape:
//
//   - a third slash (an empty host): the password lands in the path;
//   - a raw '/' in the user name: both parsers read the user name as the
//     host and the password as part of the database name;
//   - a raw '?' in the host: the query starts there, so password= after
//     it is inside another parameter's value.
var dsnLeaksFixed = [][7]string{
	// kind, place, user, host, db, query, tail (as FuzzDSNSecret's arguments)
	{"0", "0", "/", "0", "0", "", "0"},                     // postgres:///:S3CRET0@0/0
	{"0", "0", "/nobody", "db.example", "test", "", "pw"},  // postgres:///nobody:S3CRETpw@db.example/test
	{"0", "0", "0/", "0", "0", "", "0"},                    // postgres://0/:S3CRET0@0/0
	{"0", "0", "team/ops", "db.example", "test", "", "pw"}, // postgres://team/ops:S3CRETpw@db.example/test
	{"0", "2", "0", "?=", "0", "", "0"},                    // postgres://0@?=/0?password=S3CRET0
}

// FuzzDSNSecret gives parseDSN, shownURL and checkURL DSNs that carry a
// password in the user info, in a password= or sslpassword= parameter,
// in key=value settings or written so that parsers could split it
// differently: nothing they print, parseDSN's error or shown form,
// shownURL's result or checkURL's error, holds the password.
func FuzzDSNSecret(f *testing.F) {
	f.Add(uint8(0), uint8(0), "nobody", "127.0.0.1:5432", "test", "connect_timeout=5", "pw")
	f.Add(uint8(3), uint8(0), "nobody", "db.example:3306", "test", "timeout=5s", "pw")
	for place := range uint8(10) {
		f.Add(uint8(0), place, "nobody", "localhost", "test", "sslmode=disable&connect_timeout=5", "x")
		f.Add(uint8(3), place, "root", "[::1]:3306", "app", "", "")
	}
	f.Add(uint8(0), uint8(1), "nobody", "localhost", "test", "", "a&b")
	f.Add(uint8(0), uint8(0), "nobody", "localhost", "test", "", "a/b")
	f.Add(uint8(0), uint8(0), "nobody", "localhost", "test", "", "a@b")
	f.Add(uint8(0), uint8(0), "nobody", "localhost", "test", "", "a?b#c")
	f.Add(uint8(0), uint8(0), "no:body", "localhost", "test", "", "x")
	f.Add(uint8(1), uint8(4), "nobody", "localhost", "test", "a=file://x", "x")
	f.Add(uint8(6), uint8(0), "nobody", "localhost", "test", "", "x")
	f.Add(uint8(9), uint8(6), "nobody", "h:1", "test", "", "a:b")
	for _, in := range dsnLeaksFixed {
		kind, _ := strconv.Atoi(in[0])
		place, _ := strconv.Atoi(in[1])
		f.Add(uint8(kind), uint8(place), in[2], in[3], in[4], in[5], in[6])
	}
	f.Fuzz(func(t *testing.T, kind, place uint8, user, host, db, query, tail string) {
		for _, s := range []string{user, host, db, query, tail} {
			if strings.Contains(s, marker) {
				return // the marker belongs to the password alone
			}
		}
		dsn := secretDSN(dsnSchemes[int(kind)%len(dsnSchemes)], place, user, host, db, query, marker+tail)
		ds, err := parseDSN(dsn)
		if err != nil {
			if strings.Contains(err.Error(), marker) {
				t.Fatalf("parseDSN(%q) err = %q holds the password", dsn, err)
			}
		} else if strings.Contains(ds.shown, marker) {
			t.Fatalf("parseDSN(%q) shown = %q holds the password", dsn, ds.shown)
		}
		if err := checkURL(dsn); err != nil && strings.Contains(err.Error(), marker) {
			t.Fatalf("checkURL(%q) err = %q holds the password", dsn, err)
		} else if scheme, _, _ := strings.Cut(dsn, ":"); err == nil && validScheme(scheme) && strings.Contains(shownURL(dsn), marker) {
			// shownURL is only ever printed for a URL DSN that
			// checkURL passes and that net/url parses.
			if _, perr := url.Parse(dsn); perr == nil {
				t.Fatalf("shownURL(%q) = %q holds the password (checkURL passes it)", dsn, shownURL(dsn))
			}
		}
	})
}

// FuzzParseDSN feeds arbitrary text to parseDSN: it never panics; it
// returns a data source of a known kind with a non-empty shown form, or
// an error and nothing else; and the shown form never holds the password
// of the URL's user info.
func FuzzParseDSN(f *testing.F) {
	for _, s := range []string{
		"sqlite:keys.db", "sqlite://keys.db?_pragma=foreign_keys(1)", "sqlite:", "sqlite3:/tmp/x.db", "dir:/var/keys", "dir:",
		"postgres://u:pw1234@localhost:5432/db?sslmode=disable", "postgresql://localhost/db", "POSTGRES://u@h/db",
		"postgres://u@h/db?password=pw1234&x=1", "postgres://", "postgres:u:pw1234@h/db", "postgres://u:p@w@h/db",
		"mysql://root:pw1234@127.0.0.1:3306/app?timeout=5s", "mysql://root@h/", "mysql://root@h/db?passwd=x",
		"mariadb://u@[::1]/db?parseTime=false", "mysql://u@h/db?%zz=1", "mysql://u@h:99999/db", "host=h password=p",
		"", ":", "x:", "1x:y", "postgres://u@h/db?a&b", "postgres://h?#", "mysql://u@h/db?allowCleartextPasswords=true",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ds, err := parseDSN(s)
		if err != nil {
			if err.Error() == "" || ds.kind != "" || ds.source != "" || ds.shown != "" {
				t.Fatalf("parseDSN(%q) = %+v, %q: want only an error", s, ds, err)
			}
			return
		}
		switch ds.kind {
		case "sqlite", "postgres", "mysql", "dir":
		default:
			t.Fatalf("parseDSN(%q) kind = %q", s, ds.kind)
		}
		if ds.shown == "" {
			t.Fatalf("parseDSN(%q) shown = \"\"", s)
		}
		if ds.kind == "postgres" || ds.kind == "mysql" {
			u, err := url.Parse(s)
			if err != nil {
				t.Fatalf("parseDSN(%q) accepted what net/url refuses: %v", s, err)
			}
			if pw, ok := u.User.Password(); ok && len(pw) >= 4 && strings.Count(strings.ToLower(s), strings.ToLower(pw)) == 1 &&
				strings.Contains(ds.shown, pw) {
				t.Fatalf("parseDSN(%q) shown = %q holds the password %q", s, ds.shown, pw)
			}
		}
	})
}
