package cli

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// A postgres:// or mysql:// DSN may carry a secret in two places: the
// password of its user info, and query parameters. pgx reads password=
// and sslpassword= (the passphrase of the sslkey file) from the query;
// go-sql-driver/mysql has no secret parameter, and sends every parameter
// it does not know to the server as a session variable (SET name=value),
// so a password there is refused. The printable form masks both places,
// and a parameter whose name looks like a secret's is masked whatever the
// driver makes of it.

// mask replaces a secret in the printable form of a DSN.
const mask = "xxxxx"

// driverFlags are parameters of go-sql-driver/mysql whose names mention
// passwords but whose values are booleans.
var driverFlags = map[string]bool{
	"allowcleartextpasswords": true,
	"allownativepasswords":    true,
	"allowoldpasswords":       true,
}

// secretParam reports whether the query parameter named key (raw, as in
// the DSN) may carry a secret: pgx's password and sslpassword, and any
// name that looks like a secret's.
func secretParam(key string) bool {
	if k, err := url.PathUnescape(key); err == nil {
		key = k // pgx decodes names: pass%77ord is password
	}
	key = strings.ToLower(strings.TrimSpace(key))
	if driverFlags[key] {
		return false
	}
	for _, s := range []string{"password", "passwd", "pwd", "secret", "token"} {
		if strings.Contains(key, s) {
			return true
		}
	}
	return false
}

// shownURL is the printable form of the postgres:// or mysql:// DSN s:
// the password of its user info and the value of every query parameter
// that may carry a secret replaced by xxxxx. It reads s as libpq and pgx
// do (the user info ends at the first '@' before any '/', the query
// starts at the first '?' after it, and has no fragment); checkURL
// refuses the DSNs net/url reads otherwise.
func shownURL(s string) string {
	scheme, rest, _ := strings.Cut(s, ":")
	rest, ok := strings.CutPrefix(rest, "//")
	if !ok {
		// Not scheme://... ("postgres:user:pw@host"): nothing of it but
		// its scheme is shown.
		return scheme + ":" + mask
	}
	var b strings.Builder
	b.WriteString(scheme + "://")
	if i := strings.IndexAny(rest, "@/"); i >= 0 && rest[i] == '@' {
		user, _, hasPassword := strings.Cut(rest[:i], ":")
		b.WriteString(user)
		if hasPassword {
			b.WriteString(":" + mask)
		}
		b.WriteByte('@')
		rest = rest[i+1:]
	}
	base, query, hasQuery := strings.Cut(rest, "?")
	b.WriteString(base)
	if !hasQuery {
		return b.String()
	}
	b.WriteByte('?')
	for i, pair := range strings.Split(query, "&") {
		if i > 0 {
			b.WriteByte('&')
		}
		if key, _, ok := strings.Cut(pair, "="); ok && secretParam(key) {
			pair = key + "=" + mask
		}
		b.WriteString(pair)
	}
	return b.String()
}

// checkURL refuses a postgres:// or mysql:// DSN s that net/url (which
// this package reads) and libpq (which pgx follows) would split
// differently, or whose query pgx would quote in an error: either could
// print part of a password. Its errors quote nothing of s.
func checkURL(s string) error {
	_, rest, _ := strings.Cut(s, ":")
	rest, ok := strings.CutPrefix(rest, "//")
	if !ok {
		return nil // shownURL shows none of it
	}
	libpq := -1 // the end of the user info: the first '@' before any '/'
	if i := strings.IndexAny(rest, "@/"); i >= 0 && rest[i] == '@' {
		libpq = i
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	if std := strings.LastIndex(authority, "@"); std != libpq { // net/url's: the last '@' of the authority
		return errors.New("the user name or password holds a raw '@', '/', '?' or '#': percent-encode it (%40, %2F, %3F, %23)")
	}
	// What both parsers read alike can still put a password where
	// shownURL shows it: give such DSNs no meaning.
	if strings.Contains(rest, "#") {
		return errors.New("the DSN holds a raw '#': percent-encode it (%23)")
	}
	if host := rest[libpq+1:]; host == "" || strings.ContainsAny(host[:1], "/?") {
		return errors.New("no host after the user info (a third '/' after the scheme, or a raw '/' or '?' in the user name or password? percent-encode them: %2F, %3F)")
	}
	path, query, hasQuery := strings.Cut(rest[libpq+1:], "?")
	if strings.Contains(path, "@") {
		// A raw '/' in the user name or password ends the host early,
		// and the rest of the user info, its password too, is read as
		// the database name.
		return errors.New("an '@' after the host: a user name or password with a raw '/'? percent-encode '/' (%2F), and '@' in a database name (%40)")
	}
	if !hasQuery {
		return nil
	}
	if strings.Contains(query, "?") {
		return errors.New("the query holds a second raw '?': percent-encode it in values (%3F)")
	}
	for i := 1; query != ""; i++ { // as pgx splits it: a final '&' ends the query
		var pair string
		pair, query, _ = strings.Cut(query, "&")
		key, value, ok := strings.Cut(pair, "=")
		if !ok {
			// Most likely the rest of a value holding a raw '&'.
			return fmt.Errorf("query parameter %d is not NAME=VALUE: percent-encode '&' in values (%%26)", i)
		}
		// pgx quotes a parameter it cannot decode in its error, secret or
		// not.
		if _, err := url.QueryUnescape(key); err != nil {
			return fmt.Errorf("query parameter %d has a bad percent escape in its name", i)
		}
		if _, err := url.QueryUnescape(value); err != nil {
			return fmt.Errorf("query parameter %d has a bad percent escape in its value: write %%25 for a '%%'", i)
		}
	}
	return nil
}

// quoted matches what strconv.Quote and %q write.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// withheld returns err's message with every quoted part withheld: net/url
// quotes the part of a URL it rejects, which may be part of a password.
func withheld(err error) error {
	return errors.New(quoted.ReplaceAllString(err.Error(), "(withheld)"))
}
