package reencrypt_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// TestKillResumeWithWriter is TestKillResume with the application writing
// all along: while the job runs in a child process, is killed with SIGKILL
// and is resumed, a writer updates random contacts through fieldcrypt. Then
// every contact holds the writer's last write (or its seed), every value is
// under the new keys, and the job wrote each row at most once — exactly
// once where the writer never touched it (the trigger's count, less the
// writer's own updates).
func TestKillResumeWithWriter(t *testing.T) {
	db := openPostgres(t)
	ctx := context.Background()
	n := killRows(t) / 4
	const tenants = 8
	k := newKeys(t)
	db.createContacts(t)
	db.seed(t, k.encryptor(t), n, tenants)
	tab := contactsTable(t)
	newKeys := rotate(t, k.keyring(t), keyring.PurposeData, tenantNames(tenants), classes...)
	app := k.encryptor(t) // a fresh process: it writes under the new primaries

	// The application's writer, running until the resumed job is done.
	var mu sync.Mutex
	want := make(map[int64]*Contact, n)
	writes := map[int64]int{}
	for i := int64(1); i <= int64(n); i++ {
		want[i] = contactFor(i, tenants)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		rng := rand.New(rand.NewPCG(3, 4))
		for v := 0; ; v++ {
			select {
			case <-stop:
				return
			default:
			}
			id := rng.Int64N(int64(n)) + 1
			c := contactFor(id, tenants)
			c.Name, c.Email = fmt.Sprintf("Writer %d v%d", id, v), fmt.Sprintf("w%d.v%d@example.org", id, v)
			plain := *c
			if err := app.Encrypt(ctx, c); err != nil {
				t.Errorf("Encrypt(%d) err = %v", id, err)
				return
			}
			if err := db.update(ctx, c); err != nil {
				t.Errorf("update(%d) err = %v", id, err)
				return
			}
			mu.Lock()
			want[id], writes[id] = &plain, writes[id]+1
			mu.Unlock()
			time.Sleep(100 * time.Microsecond)
		}
	})
	stopWriter := sync.OnceFunc(func() {
		close(stop)
		wg.Wait()
	})
	defer stopWriter()

	cfg, err := json.Marshal(childConfig{DSN: db.dsn, Keys: k, Job: "killwriter"})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(cfg))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	committed := func() int64 {
		var done int64
		if err := db.QueryRow("SELECT COALESCE(SUM(rows_done), 0) FROM " + reencrypt.RangesTable + " WHERE job = 'killwriter'").Scan(&done); err != nil {
			return 0
		}
		return done
	}
	for committed() < int64(n)*4/10 {
		select {
		case err := <-exited:
			t.Fatalf("the child exited (%v) before it could be killed; stderr %s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := syscall.Kill(cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	// A COMMIT the child sent just before SIGKILL may still be applied
	// by the server after the child is gone: read the count once it has
	// settled.
	atKill := settled(committed)

	opts := childOptions("killwriter")
	opts.Worker = "resumer"
	sum, err := reencrypt.Run(ctx, db.DB, db.d, k.encryptor(t), tab, opts)
	if err != nil || sum.Outcome != reencrypt.Done {
		t.Fatalf("Run(after the kill) = %s, %v; want done", js(sum), err)
	}
	stopWriter()
	total := 0
	for _, w := range writes {
		total += w
	}
	t.Logf("killed at %d of %d rows; resumed run scanned %d, rewrote %d, %d conflicts; %d application writes to %d rows",
		atKill, n, sum.Scanned, sum.Rewritten, sum.Conflicts, total, len(writes))

	lost := 0
	for _, c := range db.decryptAll(t, app) {
		w := want[c.ID]
		if c.Name != w.Name || c.Email != w.Email || deref(c.Phone) != deref(w.Phone) || string(c.Notes) != string(w.Notes) {
			lost++
			if lost <= 5 {
				t.Errorf("contact %d = %q, %q; want %q, %q", c.ID, c.Name, c.Email, w.Name, w.Email)
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d contacts lost a write or their plaintext", lost)
	}
	assertUnder(t, db, tab, newKeys)

	rows, err := db.QueryContext(ctx, "SELECT id, rewrites FROM contacts")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	twice, missed := 0, 0
	for rows.Next() {
		var id int64
		var count int
		if err := rows.Scan(&id, &count); err != nil {
			t.Fatal(err)
		}
		job := count - writes[id]
		switch {
		case job > 1 || job < 0:
			twice++
		case job == 0 && writes[id] == 0:
			missed++
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if twice > 0 || missed > 0 {
		t.Errorf("the job wrote %d rows more than once and missed %d rows the writer never touched", twice, missed)
	}
}
