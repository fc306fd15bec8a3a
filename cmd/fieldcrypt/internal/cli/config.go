package cli

import (
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// config is the tool's configuration, merged from the config file, then
// FIELDCRYPT_* environment variables, then flags: each overrides the one
// before. It holds no secret other than what a DSN may carry (prefer the
// database's own password file or environment to a password in a DSN).
type config struct {
	Store             string              // keyset store: sqlite:PATH, postgres://..., mysql://..., dir:PATH
	StoreTable        string              // SQL table of the keyset store
	Anchor            string              // rollback anchor database: sqlite:PATH, postgres://..., mysql://... ("" for none)
	AnchorTable       string              // SQL table of the anchor
	KEKs              map[string]string   // field class -> KEK URI
	DefaultKEK        string              // KEK of classes not in KEKs
	AcceptKEKs        map[string][]string // field class -> further KEKs that may unwrap its keysets (its old KEK during a move)
	CacheTTL          time.Duration       // the fleet's keyring cache TTL
	PropagationMargin time.Duration       // added to CacheTTL before a rotation promotes
	Lease             time.Duration       // the re-encryption job's range lease
	Database          string              // the CRM database the job reads and writes
	TablesFile        string              // the job's tables, when not in the config file
	VaultAddress      string
	VaultNamespace    string
	AWSRegion         string
	AWSEndpoint       string
	GCPEndpoint       string
	GCPCredentials    string // service-account key file
	LogFormat         string // text, json or auto
	LogLevel          string // debug, info, warn or error

	// Job is the re-encryption job's part of the config file (its tables),
	// decoded by the job commands; JobFrom says where it came from.
	Job     *yaml.Node
	JobFrom string

	// from records where each setting's value came from, for errors.
	from map[string]string
}

// Defaults of settings that have one.
const (
	defaultPropagationMargin = keyring.DefaultLoadTimeout
	defaultLogFormat         = "auto"
	defaultLogLevel          = "info"
)

func newConfig() *config {
	return &config{
		KEKs:              map[string]string{},
		AcceptKEKs:        map[string][]string{},
		CacheTTL:          keyring.DefaultCacheTTL,
		PropagationMargin: defaultPropagationMargin,
		Lease:             reencrypt.DefaultLease,
		LogFormat:         defaultLogFormat,
		LogLevel:          defaultLogLevel,
		from:              map[string]string{},
	}
}

// origin names a setting and where its value came from, such as
// `keks.pii (env FIELDCRYPT_KEK_PII)`, for error messages.
func (c *config) origin(key string) string {
	if f, ok := c.from[key]; ok {
		return key + " (" + f + ")"
	}
	return key
}

// propagation is how long a rotation waits between adding a key and
// promoting it when --propagation is not given.
func (c *config) propagation() time.Duration { return c.CacheTTL + c.PropagationMargin }

// validate checks the merged configuration; schemes are the KEK URI schemes
// the tool can open. Errors name the setting at fault and where it was set.
func (c *config) validate(schemes []string) error {
	if c.Store == "" {
		return usagef("no keyset store configured: set store in the config file, FIELDCRYPT_STORE_DSN, or --store")
	}
	if _, err := parseDSN(c.Store); err != nil {
		return usagef("%s: %w", c.origin("store"), err)
	}
	if c.Database != "" {
		if _, err := parseDSN(c.Database); err != nil {
			return usagef("%s: %w", c.origin("database"), err)
		}
	}
	if c.Anchor != "" {
		ds, err := parseDSN(c.Anchor)
		if err != nil {
			return usagef("%s: %w", c.origin("anchor"), err)
		}
		if ds.kind == "dir" {
			return usagef("%s: the anchor must be a SQL database (sqlite:PATH, postgres://..., mysql://...), not a directory", c.origin("anchor"))
		}
		if store, err := parseDSN(c.Store); err == nil && sameDatabase(ds, store) {
			return usagef("%s: the anchor is the keyset store's own database; put it where the store's writers cannot write, or it guards nothing", c.origin("anchor"))
		}
		if c.Database != "" {
			if crm, err := parseDSN(c.Database); err == nil && sameDatabase(ds, crm) {
				return usagef("%s: the anchor is the CRM database (%s); put it where the writers of that database cannot write, or it guards nothing", c.origin("anchor"), c.origin("database"))
			}
		}
	} else if c.AnchorTable != "" {
		return usagef("%s is set but anchor is not", c.origin("anchor_table"))
	}
	if c.DefaultKEK == "" && len(c.KEKs) == 0 {
		return usagef("no KEK configured: set keks.<class> or default_kek in the config file, " +
			"FIELDCRYPT_KEK_<CLASS> or FIELDCRYPT_DEFAULT_KEK, or --kek CLASS=URI or --default-kek URI")
	}
	checkURI := func(key, uri string) error {
		scheme := kms.Scheme(uri)
		if scheme == "" {
			return usagef("%s: KEK URI %q has no scheme (want hcvault://, gcp-kms://, aws-kms:// or local://)", c.origin(key), uri)
		}
		if !slices.Contains(schemes, scheme) {
			return usagef("%s: unknown KEK scheme %q (want one of %s)", c.origin(key), scheme, strings.Join(schemes, ", "))
		}
		return nil
	}
	for _, class := range sortedKeys(c.KEKs) {
		key := "keks." + class
		if err := checkClass(class); err != nil {
			return usagef("%s: bad class name: %w", c.origin(key), err)
		}
		if err := checkURI(key, c.KEKs[class]); err != nil {
			return err
		}
	}
	if c.DefaultKEK != "" {
		if err := checkURI("default_kek", c.DefaultKEK); err != nil {
			return err
		}
	}
	for _, class := range sortedKeys(c.AcceptKEKs) {
		key := acceptKey + "." + class
		if err := checkClass(class); err != nil {
			return usagef("%s: bad class name: %w", c.origin(key), err)
		}
		for _, uri := range c.AcceptKEKs[class] {
			if err := checkURI(key, uri); err != nil {
				return err
			}
		}
	}
	if c.CacheTTL <= 0 {
		return usagef("%s: must be positive, got %v", c.origin("cache_ttl"), c.CacheTTL)
	}
	if c.Lease < time.Second {
		return usagef("%s: must be at least 1s, got %v", c.origin("lease"), c.Lease)
	}
	if c.PropagationMargin < 0 {
		return usagef("%s: must not be negative, got %v", c.origin("propagation_margin"), c.PropagationMargin)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" && c.LogFormat != "auto" {
		return usagef("%s: %q is not text, json or auto", c.origin("log_format"), c.LogFormat)
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return usagef("%s: %w", c.origin("log_level"), err)
	}
	return nil
}

// localKEKs returns the configured local:// (development) KEK URIs.
func (c *config) localKEKs() []string {
	var out []string
	add := func(uri string) {
		if kms.Scheme(uri) == "local" && !slices.Contains(out, uri) {
			out = append(out, uri)
		}
	}
	for _, class := range sortedKeys(c.KEKs) {
		add(c.KEKs[class])
	}
	add(c.DefaultKEK)
	for _, class := range sortedKeys(c.AcceptKEKs) {
		for _, uri := range c.AcceptKEKs[class] {
			add(uri)
		}
	}
	return out
}

// checkClass checks a field class name as the keyring does.
func checkClass(class string) error {
	return keyring.KeysetID{Scope: keyring.DefaultScope, Class: class, Purpose: keyring.PurposeData}.Validate()
}

// addAccepted adds uri to the KEKs accepted for class, once.
func (c *config) addAccepted(class, uri, from string) {
	if !slices.Contains(c.AcceptKEKs[class], uri) {
		c.AcceptKEKs[class] = append(c.AcceptKEKs[class], uri)
	}
	c.from[acceptKey+"."+class] = from
}

// errAcceptForm explains the CLASS=URI form of an accepted KEK.
func errAcceptForm(where, got string) error {
	return usagef("%s %q: want CLASS=URI, such as pii=hcvault://transit/keys/pii-old: an accepted KEK "+
		"is accepted for the class it names only (a KEK accepted for every class would let its holder plant keysets of other classes)", where, got)
}

// parseAccepted parses one CLASS=URI entry of an accepted KEK.
func parseAccepted(where, entry string) (class, uri string, err error) {
	class, uri, ok := strings.Cut(strings.TrimSpace(entry), "=")
	class, uri = strings.TrimSpace(class), strings.TrimSpace(uri)
	if !ok || class == "" || uri == "" || strings.Contains(class, ":") || strings.Contains(class, "/") {
		return "", "", errAcceptForm(where, entry)
	}
	return class, uri, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
