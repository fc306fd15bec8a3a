package gormcrypt_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"strconv"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/gormcrypt"
	"github.com/fieldcrypt/fieldcrypt/internal/testenv"
)

// TestTokenWriteWithholdsTokens plays a database administrator who adds a
// unique index on a side table's tokens: the second subscriber whose name
// shares a prefix with the first is refused as a duplicate, and MySQL
// quotes the duplicate token in its message, PostgreSQL in the error's
// detail. Then, on PostgreSQL, one who narrows the token column to
// integer, which pgx refuses to encode a token into, quoting it. Neither
// the error Create returns (nor a driver error in its chain) nor what
// GORM's logger prints, at its most verbose and with arguments filled in,
// holds one of the refused subscriber's tokens; the logger still shows
// the side table's statements. Nothing is written.
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

			// try creates s through a logger at its most verbose, and
			// checks that the write is refused and quotes none of s's
			// tokens, in the error or the log.
			try := func(s Subscriber, why string) {
				t.Helper()
				es, err := crypt.Encrypted(t.Context(), enc, &s)
				if err != nil {
					t.Fatal(err)
				}
				var tokens []string // the decimal forms long enough to be told from other text
				for _, toks := range []crypt.Tokens{es.NamePrefix, es.NameSub, es.BornRange, es.Reach} {
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
				err = verbose.Create(&s).Error
				var e *gormcrypt.Error
				if !errors.As(err, &e) || e.Field != "NamePrefix" || !strings.Contains(err.Error(), "subscribers_name_prefix") {
					t.Fatalf("Create %s = %v, want an Error naming NamePrefix and its side table", why, err)
				}
				text := testenv.Exposed(err)
				if !strings.Contains(logged.String(), "DELETE FROM") || !strings.Contains(logged.String(), "subscribers_name_prefix") {
					t.Fatalf("the logger did not show the side tables' statements:\n%s", logged.String())
				}
				for _, tk := range tokens {
					if strings.Contains(text, tk) {
						t.Errorf("Create %s: the error holds a token: %s", why, text)
					}
					if strings.Contains(logged.String(), tk) {
						t.Errorf("Create %s: the log holds a token:\n%s", why, logged.String())
					}
				}
				if n := countRows(t, db, "subscribers"); n != 1 {
					t.Errorf("%d subscribers after the refused write, want 1", n)
				}
				if n := sideCount(t, db, "subscribers_name_sub", s.ID); n != 0 {
					t.Errorf("%d tokens of the refused subscriber written", n)
				}
			}
			try(Subscriber{ID: "w2", TenantID: "acme", Name: "Lovelock", Born: "1991-01-10", Home: "lock@example.com"}, "with a duplicate token")

			if b.name == "postgres" {
				// The token column narrowed: pgx refuses to encode a token,
				// before anything is sent, in an error that quotes it.
				if err := db.Exec("DROP INDEX subscribers_name_prefix_token").Error; err != nil {
					t.Fatal(err)
				}
				if err := db.Exec("DELETE FROM subscribers_name_prefix").Error; err != nil {
					t.Fatal(err)
				}
				if err := db.Exec("ALTER TABLE subscribers_name_prefix ALTER COLUMN token TYPE integer").Error; err != nil {
					t.Fatal(err)
				}
				try(Subscriber{ID: "w3", TenantID: "acme", Name: "Hopper", Born: "1992-01-10", Home: "grace@example.com"}, "with the token column narrowed")
			}
		})
	}
}

// TestBlindIndexWriteWithholdsValues plays an administrator who makes the
// e-mail blind index unique: a second contact of the tenant with the same
// e-mail, created or updated to it, is refused as a duplicate, which
// MySQL quotes in its message and PostgreSQL in the error's detail. The
// error Create and Updates return (and the driver error in its chain)
// withholds the blind-index value, and keeps the driver's type; with
// TranslateError, GORM still reports gorm.ErrDuplicatedKey.
func TestBlindIndexWriteWithholdsValues(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		if err := db.Exec("CREATE UNIQUE INDEX contacts_email_idx_once ON contacts (email_idx)").Error; err != nil {
			t.Fatal(err)
		}
		first := newContact("acme")
		mustCreate(t, db, first)
		if len(first.EmailIdx) < 8 {
			t.Fatalf("blind-index value of %d bytes: too short to look for", len(first.EmailIdx))
		}
		check := func(err error, what string) {
			t.Helper()
			if err == nil {
				t.Fatalf("%s with a duplicate e-mail succeeded", what)
			}
			text := testenv.Exposed(err)
			var pe *pgconn.PgError
			errors.As(err, &pe)
			var me *mysql.MySQLError
			errors.As(err, &me)
			switch db.Dialector.Name() {
			case "postgres":
				if pe == nil || pe.Code != "23505" || pe.Detail != "" {
					t.Errorf("%s: %#v, want PostgreSQL's 23505 without its detail", what, err)
				}
			case "mysql":
				if me == nil || me.Number != 1062 {
					t.Errorf("%s: %v, want MySQL's 1062", what, err)
				}
			default:
				if !strings.Contains(text, "UNIQUE constraint failed") {
					t.Errorf("%s: %v, want SQLite's refusal", what, err)
				}
			}
			if strings.Contains(text, first.EmailIdx) {
				t.Errorf("%s: the error holds the blind-index value: %s", what, text)
			}
		}
		dup := newContact("acme")
		dup.Email = first.Email
		check(db.Create(dup).Error, "Create")

		other := newContact("acme")
		mustCreate(t, db, other)
		other.Email = first.Email
		check(db.Save(other).Error, "Save")

		db.Config.TranslateError = true
		again := newContact("acme")
		again.Email = first.Email
		if err := db.Create(again).Error; !errors.Is(err, gorm.ErrDuplicatedKey) {
			t.Errorf("Create with TranslateError = %v, want gorm.ErrDuplicatedKey", err)
		}
	})
}

// auditedNote is an encrypted model whose AfterUpdate hook refuses.
type auditedNote struct {
	_        struct{} `crypt:"record=audited_note"`
	ID       string   `gorm:"primaryKey;size:64" crypt:"id"`
	TenantID string   `gorm:"size:64" crypt:"scope"`
	Email    string   `crypt:"encrypt,class=pii"`
	EmailIdx string   `gorm:"size:16" crypt:"blind=Email,transform=lower,bits=32"`
}

var errAudit = errors.New("audit refused")

func (n *auditedNote) AfterUpdate(*gorm.DB) error {
	return fmt.Errorf("auditing note %s, index %s: %w", n.ID, n.EmailIdx, errAudit)
}

// TestRedactionLeavesOtherErrors: only the error of the UPDATE itself is
// redacted. A hook's error after it reaches the caller as the hook wrote
// it, even when it quotes what the UPDATE sent (the record's key and its
// new blind-index value here: the hook's to decide).
func TestRedactionLeavesOtherErrors(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		if err := db.AutoMigrate(&auditedNote{}); err != nil {
			t.Fatal(err)
		}
		n := &auditedNote{ID: "note-0123456789", TenantID: "acme-tenant", Email: "ada@example.com"}
		if err := db.Create(n).Error; err != nil {
			t.Fatal(err)
		}
		n.Email = "grace@example.com"
		err := db.Save(n).Error
		if want := "auditing note note-0123456789, index " + n.EmailIdx + ": audit refused"; len(n.EmailIdx) < 8 || err == nil || err.Error() != want || !errors.Is(err, errAudit) {
			t.Errorf("Save with a refusing hook = %v, want %q", err, want)
		}
	})
}

// TestBlindIndexTypeErrorsWithholdValues plays an administrator who
// changes the e-mail blind index's column to a type its values are not
// (uuid on PostgreSQL, an integer on MariaDB): the database quotes the
// value it cannot read in the error's message, and the error of Create,
// and of the update of the e-mail, withholds it.
func TestBlindIndexTypeErrorsWithholdValues(t *testing.T) {
	alters := map[string]string{ // SQLite stores any value in any column
		"postgres": "ALTER TABLE contacts ALTER COLUMN email_idx TYPE uuid USING NULL",
		"mariadb":  "ALTER TABLE contacts MODIFY email_idx BIGINT",
	}
	for _, b := range backends {
		alter, ok := alters[b.name]
		if !ok {
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			db, enc := setup(t, b)
			typeErrorsWithholdValues(t, db, enc, alter)
		})
	}
}

// typeErrorsWithholdValues is TestBlindIndexTypeErrorsWithholdValues on
// one database, whose blind-index column alter changes.
func typeErrorsWithholdValues(t *testing.T, db *gorm.DB, enc *crypt.Encryptor, alter string) {
	keep := newContact("acme")
	mustCreate(t, db, keep)
	for _, q := range []string{"UPDATE contacts SET email_idx = NULL", alter} {
		if err := db.Exec(q).Error; err != nil {
			t.Fatal(err)
		}
	}
	check := func(c *Contact, err error, what string) {
		t.Helper()
		ec, encErr := crypt.Encrypted(t.Context(), enc, c)
		if encErr != nil {
			t.Fatal(encErr)
		}
		if err == nil {
			t.Fatalf("%s into the changed column succeeded", what)
		}
		if len(ec.EmailIdx) < 8 || strings.Contains(testenv.Exposed(err), ec.EmailIdx) {
			t.Errorf("%s: the error holds the blind-index value %q: %v", what, ec.EmailIdx, err)
		}
	}
	// A blind-index value of hex digits 0-9 only (one in 43) is an integer
	// MariaDB takes: pick e-mails whose value it refuses.
	refused := func(c *Contact) *Contact {
		t.Helper()
		for i := 0; ; i++ {
			c.Email = fmt.Sprintf("grace.hopper%d@example.com", i)
			ec, err := crypt.Encrypted(t.Context(), enc, c)
			if err != nil {
				t.Fatal(err)
			}
			if strings.ContainsAny(ec.EmailIdx, "abcdef") {
				return c
			}
		}
	}
	c := refused(newContact("acme"))
	check(c, db.Create(c).Error, "Create")
	refused(keep)
	check(keep, db.Save(keep).Error, "Save")
}

// TestHandSetUpdateWithholdsValues: an UPDATE with a SET clause given by
// hand (of a plaintext column) that breaks a unique key holding the
// e-mail blind index gets the database's duplicate quoting the index
// value (MySQL's entry, PostgreSQL's detail); the error withholds it.
func TestHandSetUpdateWithholdsValues(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		if err := db.Exec("CREATE UNIQUE INDEX contacts_email_stage ON contacts (email_idx, stage)").Error; err != nil {
			t.Fatal(err)
		}
		first := newContact("acme")
		mustCreate(t, db, first)
		second := newContact("acme")
		second.Email, second.Stage = first.Email, "won"
		mustCreate(t, db, second)
		err := db.Model(&Contact{}).Where("id = ?", second.ID).Clauses(clause.Set{{Column: clause.Column{Name: "stage"}, Value: "lead"}}).Update("stage", "lead").Error
		if err == nil {
			t.Fatal("the update that breaks the unique key succeeded")
		}
		text := testenv.Exposed(err)
		if len(first.EmailIdx) < 8 || strings.Contains(text, first.EmailIdx) {
			t.Errorf("the error holds the blind-index value %q: %s", first.EmailIdx, text)
		}
	})
}

// TestGenericResultWithholdsValues: GORM's generic API keeps a statement's
// error a second time, in the result gorm.WithResult gives. Under a unique
// key holding the e-mail blind index, a G Create of a duplicate e-mail, and
// a G Update of a plaintext column that makes the key collide, fail; both
// the returned error and the result's withhold the blind-index value.
func TestGenericResultWithholdsValues(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ *crypt.Encryptor) {
		if err := db.Exec("CREATE UNIQUE INDEX contacts_email_stage ON contacts (email_idx, stage)").Error; err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		first := newContact("acme")
		mustCreate(t, db, first)
		check := func(err, kept error, what string) {
			t.Helper()
			if err == nil || kept == nil {
				t.Fatalf("%s broke the unique key and returned %v, kept %v", what, err, kept)
			}
			for _, e := range []error{err, kept} {
				if text := testenv.Exposed(e); len(first.EmailIdx) < 8 || strings.Contains(text, first.EmailIdx) {
					t.Errorf("%s: an error holds the blind-index value %q: %s", what, first.EmailIdx, text)
				}
			}
		}

		res := gorm.WithResult()
		dup := newContact("acme")
		dup.Email = first.Email
		check(gorm.G[Contact](db, res).Create(ctx, dup), res.Error, "G.Create")

		second := newContact("acme")
		second.Email, second.Stage = first.Email, "won"
		mustCreate(t, db, second)
		res = gorm.WithResult()
		_, err := gorm.G[Contact](db, res).Where("id = ?", second.ID).Update(ctx, "stage", first.Stage)
		check(err, res.Error, "G.Update")
	})
}
