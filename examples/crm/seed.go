package main

import (
	"context"
	"fmt"
	"time"
)

// seedTenant is the tenant the sample contacts and the printed curl lines
// use; a second tenant shows isolation.
const (
	seedTenant      = "acme"
	seedOtherTenant = "globex"
)

type sampleContact struct {
	tenant, id, name, email, phone, birthday, company, notes string
	history                                                  []sampleInteraction
}

type sampleInteraction struct {
	daysAgo int
	channel string
	summary string
}

// sampleContacts are fictional people, with e-mail addresses under the
// example domains and phone numbers from the ranges set aside for drama.
// Ada and Alan share the last four digits of their phones, and were born in
// the 1980s; Edsger has no birthday on file. IDs are unique
// across tenants (they are the tables' primary key): globex's contacts are
// c_0101 and up, and globex asking for acme's c_0001 finds nothing.
var sampleContacts = []sampleContact{
	{seedTenant, "c_0001", "Ada Lovelace", "ada@example.com", "+44 20 7946 0018", "1985-12-10", "Analytical Engines Ltd",
		"Prefers e-mail. Evaluating the enterprise plan.", []sampleInteraction{
			{30, "email", "Asked for the enterprise price list; sent it."},
			{12, "phone", "Invoice 42 was charged twice; refund issued."},
			{2, "meeting", "Demo of the reporting module; wants a trial for 5 seats."},
		}},
	{seedTenant, "c_0002", "Charles Babbage", "Charles.Babbage@example.com", "+44 20 7946 0321", "1971-12-26", "Analytical Engines Ltd",
		"Decision maker for renewals.", []sampleInteraction{
			{45, "meeting", "Renewal negotiated for two years."},
		}},
	{seedTenant, "c_0003", "Grace Hopper", "grace@example.org", "+1 202 555 0118", "1966-12-09", "Compilers Inc",
		"Reported the export bug.", []sampleInteraction{
			{20, "ticket", "CSV export drops the last row. Reproduced on 4.2."},
			{18, "ticket", "Fixed in 4.2.1; customer confirmed."},
		}},
	{seedTenant, "c_0004", "Alan Turing", "alan@example.net", "+44 161 496 0018", "1982-06-23", "Bletchley Analytics",
		"", []sampleInteraction{
			{7, "chat", "Could not log in after the password reset; cleared the lockout."},
		}},
	{seedTenant, "c_0005", "Katherine Johnson", "katherine@example.com", "+1 757 555 0142", "1968-08-26", "Orbital Mechanics LLC",
		"Needs invoices in USD.", nil},
	{seedTenant, "c_0006", "Edsger Dijkstra", "edsger@example.org", "", "", "Structured Programs BV",
		"No phone on file; write only.", []sampleInteraction{
			{3, "email", "Asked that the API stop returning GOTO in error messages."},
		}},
	{seedOtherTenant, "c_0101", "Hank Scorpio", "hank@example.net", "+1 202 555 0199", "1975-04-01", "Globex Corporation",
		"Globex's own contact.", []sampleInteraction{
			{1, "phone", "Wants a hammock district in the office plan."},
		}},
	{seedOtherTenant, "c_0102", "Frank Grimes", "frank@example.net", "+1 202 555 0107", "1979-03-17", "Globex Corporation",
		"", nil},
}

// seed inserts the sample contacts and their history when the database has
// no contacts at all. Only a role holding every class can: the support role
// has no pii KEK to encrypt personal data with.
func (s *server) seed(ctx context.Context) error {
	n, err := s.db.countContacts(ctx)
	if err != nil || n > 0 {
		return err
	}
	if s.cfg.Role != RoleAdmin {
		s.log.Info("not seeding: only the admin role holds every class's KEK")
		return nil
	}
	now := s.nowMicros()
	db := s.db.WithContext(ctx)
	for _, sc := range sampleContacts {
		c := Contact{ID: sc.id, TenantID: sc.tenant, Name: sc.name, Email: sc.email, Phone: sc.phone,
			Birthday: sc.birthday, Company: sc.company, Notes: sc.notes, CreatedAt: now, UpdatedAt: now}
		for i, h := range sc.history {
			c.Interactions = append(c.Interactions, Interaction{ID: fmt.Sprintf("i_%s_%d", sc.id[2:], i+1), TenantID: sc.tenant,
				Channel: h.channel, Summary: h.summary, At: now.Add(-time.Duration(h.daysAgo) * 24 * time.Hour)})
		}
		// One Create writes the contact and, through the has-many
		// association, its history; each record is encrypted under its own
		// binding (an interaction's includes the contact_id GORM sets).
		if err := db.Create(&c).Error; err != nil {
			return err
		}
	}
	s.log.Info("seeded sample contacts", "contacts", len(sampleContacts), "tenants", 2)
	return nil
}
