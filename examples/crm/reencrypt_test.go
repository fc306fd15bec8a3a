package main

import (
	"bytes"
	"flag"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

var update = flag.Bool("update", false, "rewrite testdata/fieldcrypt-tables.yaml from the models")

// jobTables describes the CRM's tables for the re-encryption job, from the
// models' tags (reencrypt.TableOf). Both tables are keyed by id alone,
// which the job pages by; an interaction binds two identity columns, so
// its key is named.
func jobTables(t *testing.T) []reencrypt.Table {
	t.Helper()
	contacts, err := reencrypt.TableOf("contacts", "", &Contact{})
	if err != nil {
		t.Fatalf("TableOf(Contact): %v", err)
	}
	interactions, err := reencrypt.TableOf("interactions", "id", &Interaction{})
	if err != nil {
		t.Fatalf("TableOf(Interaction): %v", err)
	}
	return []reencrypt.Table{contacts, interactions}
}

// TestJobConfig keeps testdata/fieldcrypt-tables.yaml, the table
// configuration the README shows for `fieldcrypt reencrypt`, in line with
// the models (go test -run TestJobConfig -update rewrites it).
func TestJobConfig(t *testing.T) {
	var buf bytes.Buffer
	if err := reencrypt.WriteConfig(&buf, &reencrypt.Config{Tables: jobTables(t)}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "fieldcrypt-tables.yaml")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stored, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stored, buf.Bytes()) {
		t.Errorf("%s differs from reencrypt.TableOf of the models; run go test -run TestJobConfig -update\n got:\n%s\nwant:\n%s", path, stored, buf.Bytes())
	}
	cfg, err := reencrypt.ParseConfig(stored)
	if err != nil {
		t.Fatalf("ParseConfig(%s): %v", path, err)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("%s: %v", path, err)
	}
}

// TestReencryptJob rotates tenant acme's data keys and runs the
// re-encryption job on the CRM's tables: the single-column primary keys
// let it page, it rewrites every row of acme onto the new keys, and the
// service reads and searches them as before.
func TestReencryptJob(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db string) {
		ts := startServer(t, testConfig(t, db))
		var ids []string
		for _, in := range []contactInput{
			{Name: "Ada Lovelace", Email: "ada@example.com", Phone: "+44 20 7946 0018", Notes: "enterprise plan"},
			{Name: "Grace Hopper", Email: "grace@example.org", Phone: "+1 202 555 0118"},
			{Name: "Alan Turing", Notes: "no e-mail"},
		} {
			c := ts.createContact(t, "acme", in)
			ids = append(ids, c.ID)
			ts.mustStatus(t, http.StatusCreated, "POST", "/tenants/acme/contacts/"+c.ID+"/interactions",
				interactionInput{Channel: "phone", Summary: "called about " + in.Name})
		}
		other := ts.createContact(t, "globex", contactInput{Name: "Hank Scorpio", Email: "hank@example.net"})

		// Rotate acme's data keys: a new primary key per class.
		m := keyring.NewManager(ts.s.kr)
		newKeys := map[string]uint32{}
		for _, class := range []string{classPII, classSupport} {
			id := keyring.KeysetID{Scope: "acme", Class: class, Purpose: keyring.PurposeData}
			k, err := m.AddKey(t.Context(), id)
			if err != nil {
				t.Fatalf("AddKey(%v): %v", id, err)
			}
			if err := m.PromoteKey(t.Context(), id, k); err != nil {
				t.Fatalf("PromoteKey(%v, %d): %v", id, k, err)
			}
			newKeys[class] = k
		}

		for _, table := range jobTables(t) {
			sum, err := reencrypt.Run(t.Context(), ts.s.db.pool, ts.s.db.dialect, ts.s.enc, table, nil)
			if err != nil || sum.Outcome != reencrypt.Done {
				t.Fatalf("Run(%s) = outcome %s, err %v; want done", table.Name, sum.Outcome, err)
			}
			// Every acme row moved; globex's contact was current already.
			if want := int64(len(ids)); sum.Rewritten != want || sum.Failed != 0 {
				t.Errorf("Run(%s): rewrote %d rows, failed %d; want %d and 0", table.Name, sum.Rewritten, sum.Failed, want)
			}
		}

		// The stored values of acme are under the new keys.
		for _, id := range ids {
			var name, notes, summary string
			if err := ts.raw(`SELECT name, notes FROM contacts WHERE id = ?`, id).Scan(&name, &notes); err != nil {
				t.Fatal(err)
			}
			if err := ts.raw(`SELECT summary FROM interactions WHERE contact_id = ?`, id).Scan(&summary); err != nil {
				t.Fatal(err)
			}
			for _, v := range []struct{ column, value, class string }{
				{"contacts.name", name, classPII}, {"contacts.notes", notes, classSupport}, {"interactions.summary", summary, classSupport},
			} {
				if v.value == "" {
					continue
				}
				info, err := crypt.InspectText(v.value)
				if err != nil || info.KeyID != newKeys[v.class] {
					t.Errorf("%s of %s: key %d (err %v), want the new %s key %d", v.column, id, info.KeyID, err, v.class, newKeys[v.class])
				}
			}
		}

		// The service reads and finds them as before.
		var got contactView
		ts.mustStatus(t, http.StatusOK, "GET", "/tenants/acme/contacts/"+ids[0], nil).decode(t, &got)
		if str(got.Name) != "Ada Lovelace" || str(got.Notes) != "enterprise plan" {
			t.Errorf("GET after the job = %+v, want Ada's contact", got)
		}
		var history interactionList
		ts.mustStatus(t, http.StatusOK, "GET", "/tenants/acme/contacts/"+ids[0]+"/interactions", nil).decode(t, &history)
		if len(history.Interactions) != 1 || str(history.Interactions[0].Summary) != "called about Ada Lovelace" {
			t.Errorf("history after the job = %+v", history.Interactions)
		}
		if found := ts.search(t, "acme", url.Values{"email": {"GRACE@example.org"}}).ids(); !slices.Equal(found, ids[1:2]) {
			t.Errorf("lookup after the job = %v, want [%s]", found, ids[1])
		}
		ts.mustStatus(t, http.StatusOK, "GET", "/tenants/globex/contacts/"+other.ID, nil)
	})
}
