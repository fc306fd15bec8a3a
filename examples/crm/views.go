package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// contactInput is the body of POST and PUT on a contact. PUT replaces every
// field.
type contactInput struct {
	Name     string `json:"name"`
	Email    string `json:"email"`
	Phone    string `json:"phone"`
	Birthday string `json:"birthday"` // "2006-01-02", or empty
	Company  string `json:"company"`
	Notes    string `json:"notes"`
}

func (in *contactInput) validate() error {
	if strings.TrimSpace(in.Name) == "" {
		return badRequest("invalid_field", "name is required")
	}
	if in.Email != "" && !strings.Contains(in.Email, "@") {
		return badRequest("invalid_field", "email must contain '@'")
	}
	if in.Birthday != "" {
		if _, err := parseDate(in.Birthday); err != nil {
			return badRequest("invalid_field", "birthday must be a date from 1900-01-01 to 2099-12-31, as 2006-01-02")
		}
	}
	// The company is kept in clear, in a text column: PostgreSQL refuses
	// NUL in one, and a one-line business name has no use for control
	// characters. The encrypted fields take any text: the database holds
	// their ciphertexts. (Every string is valid UTF-8 here: decodeJSON
	// refuses a body that is not.)
	if strings.ContainsFunc(in.Company, unicode.IsControl) {
		return badRequest("invalid_field", "company must not contain control characters")
	}
	for _, f := range []struct {
		name, value string
		max         int
	}{
		{"name", in.Name, 200}, {"email", in.Email, 254}, {"phone", in.Phone, 40},
		{"company", in.Company, 200}, {"notes", in.Notes, 4000},
	} {
		if utf8.RuneCountInString(f.value) > f.max {
			return badRequest("invalid_field", fmt.Sprintf("%s is longer than %d characters", f.name, f.max))
		}
	}
	return nil
}

// contactView is a contact as the API returns it. A field the service's
// role cannot decrypt is null and listed in Redacted; it is never returned
// as ciphertext.
type contactView struct {
	ID        string    `json:"id"`
	Tenant    string    `json:"tenant"`
	Name      *string   `json:"name"`
	Email     *string   `json:"email"`
	Phone     *string   `json:"phone"`
	Birthday  *string   `json:"birthday"`
	Company   string    `json:"company"`
	Notes     *string   `json:"notes"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Redacted  []string  `json:"redacted,omitempty"`
}

// newContactView builds the view of a contact read from the database.
// access is the error the contact's own decryption returned for the fields
// it left encrypted, or nil.
func newContactView(c *Contact, access *crypt.AccessError) (contactView, error) {
	v := contactView{
		ID: c.ID, Tenant: c.TenantID, Company: c.Company,
		Name: &c.Name, Email: &c.Email, Phone: &c.Phone, Birthday: &c.Birthday, Notes: &c.Notes,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
	// The field paths are the name= of Contact's tags, which are also the
	// JSON names.
	fields := map[string]**string{"name": &v.Name, "email": &v.Email, "phone": &v.Phone, "birthday": &v.Birthday, "notes": &v.Notes}
	if err := redact(fields, access, &v.Redacted); err != nil {
		return contactView{}, fmt.Errorf("contact %s: %w", c.ID, err)
	}
	return v, nil
}

// redact sets to nil each field that access says the read left encrypted
// (a field of a class this process holds no key for), and records its
// name in redacted. The read's error decides, never the value's shape: a
// plaintext may look like a stored value ("fc1:AQAAAAAA" parses as one,
// and Encrypt takes it for plaintext), and a read that failed otherwise
// never gets here (its error fails the request). access holds the field
// paths of one record, which are the names of fields.
func redact(fields map[string]**string, access *crypt.AccessError, redacted *[]string) error {
	if access == nil {
		return nil
	}
	for _, path := range access.Fields {
		p, ok := fields[path]
		if !ok {
			// The view and the model disagree: better no answer than
			// a ciphertext passed off as data.
			return fmt.Errorf("field %s was left encrypted and the view does not know it", path)
		}
		*p = nil
		*redacted = append(*redacted, path)
	}
	slices.Sort(*redacted)
	return nil
}

// interactionInput is the body of POST on a contact's interactions.
type interactionInput struct {
	Channel string     `json:"channel"`
	Summary string     `json:"summary"`
	At      *time.Time `json:"at"` // default: now
}

func (in *interactionInput) validate() error {
	if !slices.Contains(channels, in.Channel) {
		return badRequest("invalid_field", "channel must be one of "+strings.Join(channels, ", "))
	}
	if strings.TrimSpace(in.Summary) == "" {
		return badRequest("invalid_field", "summary is required")
	}
	if utf8.RuneCountInString(in.Summary) > 4000 {
		return badRequest("invalid_field", "summary is longer than 4000 characters")
	}
	if in.At != nil && (in.At.Before(minInteractionAt) || !in.At.Before(maxInteractionAt)) {
		return badRequest("invalid_field", "at must be a time from 1900-01-01T00:00:00Z to 2099-12-31T23:59:59Z, as RFC 3339")
	}
	return nil
}

// The times an interaction may have. encoding/json takes any RFC 3339
// time, years 0000 to 9999 in any offset, and some of them are years
// outside 0000..9999 in UTC, where the database keeps them: SQLite
// stores such a time and then fails every read of the history that holds
// it. A CRM's history has no business far outside the window below.
var (
	minInteractionAt = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	maxInteractionAt = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// interactionView is an interaction as the API returns it.
type interactionView struct {
	ID        string    `json:"id"`
	ContactID string    `json:"contact_id"`
	Channel   string    `json:"channel"`
	Summary   *string   `json:"summary"`
	At        time.Time `json:"at"`
	Redacted  []string  `json:"redacted,omitempty"`
}

func newInteractionView(in *Interaction, access *crypt.AccessError) (interactionView, error) {
	v := interactionView{ID: in.ID, ContactID: in.ContactID, Channel: in.Channel, Summary: &in.Summary, At: in.At}
	if err := redact(map[string]**string{"summary": &v.Summary}, access, &v.Redacted); err != nil {
		return interactionView{}, fmt.Errorf("interaction %s: %w", in.ID, err)
	}
	return v, nil
}

// parseDate parses a birthday or a bound of a birthday search: a calendar
// date within the birthday index's domain (BirthdayRange in model.go).
func parseDate(s string) (time.Time, error) {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, err
	}
	if d.Year() < 1900 || d.Year() > 2099 {
		return time.Time{}, fmt.Errorf("%s is outside 1900-01-01..2099-12-31", s)
	}
	return d, nil
}
