package gormcrypt_test

import (
	"bytes"
	"errors"
	"log"
	"strconv"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/gormcrypt"
)

// TestTokenWriteWithholdsTokens plays a database administrator who adds a
// unique index on a side table's tokens: the second subscriber whose name
// shares a prefix with the first is refused as a duplicate, and MySQL
// quotes the duplicate token in its message, PostgreSQL in the error's
// detail. Neither the error Create returns (nor a driver error in its
// chain) nor what GORM's logger prints, at its most verbose and with
// arguments filled in, holds one of the refused subscriber's tokens; the
// logger still shows the side table's statements. Nothing is written.
func TestTokenWriteWithholdsTokens(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db, enc := setupSubscribers(t, b)
			if err := db.Exec("CREATE UNIQUE INDEX subscribers_name_prefix_token ON subscribers_name_prefix (token)").Error; err != nil {
				t.Fatal(err)
			}
			if err := db.Create(&Subscriber{ID: "w1", TenantID: "acme", Name: "Lovelace", Born: "1990-12-10", Home: "ada@example.com"}).Error; err != nil {
				t.Fatal(err)
			}

			second := Subscriber{ID: "w2", TenantID: "acme", Name: "Lovelock", Born: "1991-01-10", Home: "lock@example.com"}
			enc2, err := crypt.Encrypted(t.Context(), enc, &second)
			if err != nil {
				t.Fatal(err)
			}
			var tokens []string // the decimal forms long enough to be told from other text
			for _, toks := range []crypt.Tokens{enc2.NamePrefix, enc2.NameSub, enc2.BornRange, enc2.Reach} {
				for _, tk := range toks {
					if s := strconv.FormatInt(tk, 10); len(s) >= 8 {
						tokens = append(tokens, s)
					}
				}
			}
			if len(tokens) < 10 {
				t.Fatalf("only %d tokens to look for", len(tokens))
			}

			var logged bytes.Buffer
			verbose := db.Session(&gorm.Session{Logger: logger.New(log.New(&logged, "", 0), logger.Config{LogLevel: logger.Info})})
			err = verbose.Create(&second).Error
			var e *gormcrypt.Error
			if !errors.As(err, &e) || e.Field != "NamePrefix" || !strings.Contains(err.Error(), "subscribers_name_prefix") {
				t.Fatalf("Create with a duplicate token = %v, want an Error naming NamePrefix and its side table", err)
			}
			text := err.Error()
			var pe *pgconn.PgError
			if errors.As(err, &pe) {
				text += pe.Detail + pe.Where + pe.Hint + pe.InternalQuery
			}
			var me *mysql.MySQLError
			if errors.As(err, &me) {
				text += me.Message
			}
			if !strings.Contains(logged.String(), "DELETE FROM") || !strings.Contains(logged.String(), "subscribers_name_prefix") {
				t.Fatalf("the logger did not show the side tables' statements:\n%s", logged.String())
			}
			for _, tk := range tokens {
				if strings.Contains(text, tk) {
					t.Errorf("the error holds a token: %s", text)
				}
				if strings.Contains(logged.String(), tk) {
					t.Errorf("the log holds a token:\n%s", logged.String())
				}
			}
			if n := countRows(t, db, "subscribers"); n != 1 {
				t.Errorf("%d subscribers after the refused write, want 1", n)
			}
			if n := sideCount(t, db, "subscribers_name_sub", "w2"); n != 0 {
				t.Errorf("%d tokens of the refused subscriber written", n)
			}
		})
	}
}
