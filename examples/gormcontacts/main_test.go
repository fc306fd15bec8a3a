package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(context.Background(), &out, dir); err != nil {
		t.Fatalf("run: %v", err)
	}
	want := `found c-0042: Contact 42 <user42@example.com>
c-0041 Contact 41 <user41@example.com> +1 555 0000041 lead
c-0042 Contact 42 <ada@example.com> +1 555 0000042 customer
c-0043 Contact 43 <user43@example.com> +1 555 0000043 lead
1000 contacts
`
	if out.String() != want {
		t.Errorf("run printed\n%s\nwant\n%s", out.String(), want)
	}

	// The table holds ciphertexts only.
	db, err := gorm.Open(sqlite.Open(filepath.Join(dir, "crm.db")), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	var rows []struct{ Name, Email, Phone, Stage string }
	if err := db.Raw("SELECT name, email, phone, stage FROM contacts").Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1000 {
		t.Fatalf("%d rows stored, want 1000", len(rows))
	}
	for _, r := range rows {
		for _, v := range []string{r.Name, r.Email, r.Phone} {
			if !strings.HasPrefix(v, "fc1:") || strings.Contains(v, "example.com") || strings.Contains(v, "Contact ") {
				t.Fatalf("stored value %q is not a ciphertext", v)
			}
		}
	}
}

// fieldcryptLine matches the lines of main.go that exist because of
// fieldcrypt: crypt tags, and uses of fieldcrypt's packages and of the
// values built from them.
var fieldcryptLine = regexp.MustCompile(`crypt:"|\b(crypt|gormcrypt|keyring|kms|local)\.|\b(opener|kekURI|kr)\b`)

// TestFieldcryptLines counts the fieldcrypt-related lines of main.go, with
// the error handling that follows them, and holds them to the budget of
// the new developer's task: 20 lines (the task took about 90 by hand).
// A line that only uses a fieldcrypt value inside GORM code, such as
// db.Scopes(byEmail).Find(&found), is GORM's: a plain query needs it too.
func TestFieldcryptLines(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(src))
	for sc.Scan() {
		lines = append(lines, strings.TrimSpace(sc.Text()))
	}
	counted := 0
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.HasPrefix(l, "//") || strings.HasPrefix(l, "\"") || !fieldcryptLine.MatchString(l) {
			continue
		}
		counted++
		// The error check that follows, or the block the line opens.
		if strings.HasSuffix(l, "{") || i+1 < len(lines) && lines[i+1] == "if err != nil {" {
			j := i + 1
			for j < len(lines) && lines[j] != "}" {
				j++
			}
			counted += j - i
			i = j
		}
	}
	t.Logf("fieldcrypt-related lines in main.go: %d", counted)
	if counted > 20 {
		t.Errorf("main.go has %d fieldcrypt-related lines, want at most 20", counted)
	}
	if counted < 10 {
		t.Errorf("main.go has %d fieldcrypt-related lines: the count misses some", counted)
	}
}
