package cli_test

import (
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/fieldcrypt/fieldcrypt/internal/testenv"
)

// TestDSNSecretsWithheld gives the keyset store, the CRM database and the
// rollback anchor DSNs that carry a password (in the user info, in pgx's
// password and sslpassword query parameters in any order, or written so
// that a parser could split it) for a user the test servers refuse: every
// command fails, and nothing it prints holds any part of the password.
// Where the tool connects, the error shows the DSN with the password
// masked.
func TestDSNSecretsWithheld(t *testing.T) {
	openServer(t, "PostgreSQL", "pgx", testenv.PostgresDSN)
	pu, err := url.Parse(testenv.PostgresDSN)
	if err != nil {
		t.Fatal(err)
	}
	mcfg, err := mysql.ParseDSN(testenv.MySQLDSN)
	if err != nil {
		t.Fatal(err)
	}
	openServer(t, "MariaDB", "mysql", mcfg.FormatDSN())
	pg, my := pu.Host, mcfg.Addr

	h := newHarness(t)
	h.mustRun(t, "keys", "init")
	cfg, err := os.ReadFile(h.config)
	if err != nil {
		t.Fatal(err)
	}
	h.writeConfig(t, string(cfg)+contactsTables)
	cases := []struct {
		name   string
		dsn    string
		secret []string // no part of the password may be printed
		want   string   // what every command prints
	}{
		{"postgres password first", "postgres://nobody@" + pg + "/test?password=Sup3rS3cretPW&connect_timeout=5",
			[]string{"Sup3rS3cretPW"}, "postgres://nobody@" + pg + "/test?password=xxxxx&connect_timeout=5: failed to connect"},
		{"postgres password last", "postgres://nobody@" + pg + "/test?connect_timeout=5&password=Sup3rS3cretPW",
			[]string{"Sup3rS3cretPW"}, "postgres://nobody@" + pg + "/test?connect_timeout=5&password=xxxxx: failed to connect"},
		{"postgres sslpassword", "postgres://nobody@" + pg + "/test?sslpassword=Sup3rS3cretPW&sslmode=disable",
			[]string{"Sup3rS3cretPW"}, "postgres://nobody@" + pg + "/test?sslpassword=xxxxx&sslmode=disable: failed to connect"},
		{"postgres encoded key", "postgres://nobody@" + pg + "/test?pass%77ord=Sup3rS3cretPW",
			[]string{"Sup3rS3cretPW"}, "postgres://nobody@" + pg + "/test?pass%77ord=xxxxx: failed to connect"},
		{"postgres user info", "postgres://nobody:Sup3rS3cretPW@" + pg + "/test?connect_timeout=5",
			[]string{"Sup3rS3cretPW"}, "postgres://nobody:xxxxx@" + pg + "/test?connect_timeout=5: failed to connect"},
		{"postgres final &", "postgres://nobody:Sup3rS3cretPW@" + pg + "/test?connect_timeout=5&",
			[]string{"Sup3rS3cretPW"}, "postgres://nobody:xxxxx@" + pg + "/test?connect_timeout=5&: failed to connect"},
		{"postgres upper-case scheme", "POSTGRESQL://nobody:Sup3rS3cretPW@" + pg + "/test",
			[]string{"Sup3rS3cretPW"}, "postgresql://nobody:xxxxx@" + pg + "/test: failed to connect"},
		{"postgres raw & in a password", "postgres://nobody@" + pg + "/test?password=Sup3r&S3cretPW",
			[]string{"Sup3r", "S3cretPW"}, "query parameter 2 is not NAME=VALUE"},
		{"postgres raw @ in a query", "postgres://" + pg + "?password=Sup3r@S3cretPW",
			[]string{"Sup3r", "S3cretPW"}, "percent-encode it"},
		{"postgres raw / in a password", "postgres://nobody:Sup3r/S3cretPW@" + pg + "/test",
			[]string{"Sup3r", "S3cretPW"}, "not a valid URL: invalid port (withheld) after host"},
		{"postgres without //", "postgres:nobody:Sup3rS3cretPW@" + pg + "/test",
			[]string{"Sup3rS3cretPW"}, "postgres:xxxxx"},
		{"postgres with one /", "postgres:/nobody:Sup3rS3cretPW@" + pg + "/test",
			[]string{"Sup3rS3cretPW"}, "postgres:xxxxx"},
		{"postgres without // and a URL parameter", "postgres:nobody:Sup3rS3cretPW@" + pg + "/test?sslrootcert=file://x",
			[]string{"Sup3rS3cretPW"}, "postgres:xxxxx"},
		{"postgres secret-named parameter with a bad escape", "postgres://nobody@" + pg + "/test?sslmode=disable&api_token=Sup3r%zzS3cretPW",
			[]string{"Sup3r", "S3cretPW"}, "query parameter 2 has a bad percent escape in its value"},
		{"postgres third slash", "postgres:///nobody:Sup3rS3cretPW@" + pg + "/test",
			[]string{"Sup3rS3cretPW"}, "no host after the user info"},
		{"postgres raw / in a user name", "postgres://team/ops:Sup3rS3cretPW@" + pg + "/test",
			[]string{"Sup3rS3cretPW"}, "an '@' after the host"},
		{"mysql without //", "mysql:nobody:Sup3rS3cretPW@" + my + "/test",
			[]string{"Sup3rS3cretPW"}, "mysql:xxxxx"},
		{"key=value settings", "host=127.0.0.1 user=nobody password=Sup3r:S3cretPW",
			[]string{"Sup3r", "S3cretPW"}, "not a DSN"},
		{"mysql passwd parameter", "mysql://nobody@" + my + "/test?timeout=5s&passwd=Sup3rS3cretPW",
			[]string{"Sup3rS3cretPW"}, `query parameter "passwd" is no setting of the MySQL driver`},
		{"mysql password parameter", "mysql://nobody@" + my + "/test?password=Sup3rS3cretPW&timeout=5s",
			[]string{"Sup3rS3cretPW"}, `query parameter "password" is no setting of the MySQL driver`},
		{"mysql user info", "mysql://nobody:Sup3rS3cretPW@" + my + "/test?timeout=5s",
			[]string{"Sup3rS3cretPW"}, "mysql://nobody:xxxxx@" + my + "/test?timeout=5s: Error "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, args := range [][]string{
				{"keys", "list", "--store", tc.dsn},
				{"status", "--database", tc.dsn},
				{"keys", "list", "--anchor", tc.dsn},
			} {
				r := h.run(t, args...)
				if r.code == 0 {
					t.Errorf("%s: %v\nwant a failure", args, r)
				}
				for _, s := range tc.secret {
					if strings.Contains(r.rawStderr+r.stdout, s) {
						t.Errorf("%s prints %q of the password:\n%v", args, s, r)
					}
				}
				if !strings.Contains(r.stderr, tc.want) {
					t.Errorf("%s: %v\nwant it to print %q", args, r, tc.want)
				}
			}
		})
	}
}
