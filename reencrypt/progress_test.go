package reencrypt_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// TestProgressAndLogs checks progress reports (job-wide counts, rate, a
// final report) and that neither the logs nor the summary hold any
// plaintext, even about rows that failed.
func TestProgressAndLogs(t *testing.T) {
	db := openPostgres(t)
	ctx := context.Background()
	const n, tenants = 400, 2
	k := newKeys(t)
	app := k.encryptor(t)
	db.createContacts(t)
	for _, s := range tenantNames(tenants) {
		if err := keyring.NewManager(app.Keyring()).CreateKeysets(ctx, s, classes...); err != nil {
			t.Fatal(err)
		}
	}
	var secrets []string
	var cs []*Contact
	for i := int64(1); i <= n; i++ {
		c := contactFor(i, tenants)
		c.Name = fmt.Sprintf("Zebulon Quartermaine-%d", 7000+i)
		c.Email = fmt.Sprintf("zebulon.q%d@secret-mail.example", 7000+i)
		secrets = append(secrets, c.Name, c.Email)
		cs = append(cs, c)
	}
	if err := crypt.EncryptAll(ctx, app, cs); err != nil {
		t.Fatal(err)
	}
	cs[3].Email = cs[5].Email // moved from another row of the tenant: fails to decrypt
	db.insert(t, cs)
	rotate(t, app.Keyring(), keyring.PurposeData, tenantNames(tenants), classes...)

	var logs bytes.Buffer
	var mu sync.Mutex
	var reports []reencrypt.Progress
	opts := jobOptions("progress")
	opts.BatchSize, opts.Rate = 20, 2000
	opts.Logger = slog.New(slog.NewJSONHandler(&syncWriter{w: &logs, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.ProgressInterval = 20 * time.Millisecond
	opts.Progress = func(p reencrypt.Progress) { mu.Lock(); reports = append(reports, p); mu.Unlock() }
	sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), contactsTable(t), opts)
	if err != nil || sum.Outcome != reencrypt.Partial || sum.Failed != 1 || sum.FailedRows[0] != (reencrypt.RowFailure{Key: "4", Column: "email", Reason: "decrypt"}) {
		t.Fatalf("Run = %s, %v; want partial with row 4 failed", js(sum), err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reports) < 3 {
		t.Fatalf("got %d progress reports, want several", len(reports))
	}
	last := reports[len(reports)-1]
	if !last.Final || last.Done != n || last.Total != n || last.Rewritten != n-1 || last.Job != "progress" {
		t.Errorf("final progress = %+v, want final, %d of %d done, %d rewritten", last, n, n, n-1)
	}
	// A report while rows remained: which one depends on the machine's
	// pace (a loaded machine can finish the rows between two reports, and
	// report the finished count until the run ends), so the test looks
	// for one rather than taking the middle report.
	i := slices.IndexFunc(reports, func(p reencrypt.Progress) bool { return p.Done > 0 && p.Done < n })
	if i < 0 {
		t.Fatalf("no progress report while rows remained: %+v", reports)
	}
	if mid := reports[i]; mid.Final || mid.Rate <= 0 || mid.ETA <= 0 {
		t.Errorf("progress half-way = %+v, want a rate and an ETA", mid)
	}
	text := logs.String() + js(sum)
	for _, want := range []string{`"msg":"progress"`, `"msg":"run finished"`, `"msg":"row left as it was"`, `"key":"4"`} {
		if !strings.Contains(text, want) {
			t.Errorf("logs lack %s", want)
		}
	}
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Fatalf("logs or summary contain the plaintext %q", s)
		}
	}
}

type syncWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
