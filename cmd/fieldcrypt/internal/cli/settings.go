package cli

import (
	"fmt"
	"strings"
	"time"
)

// settingKind is the type of a setting's value.
type settingKind int

const (
	kindString   settingKind = iota
	kindDuration             // a Go duration: 5m, 90s, 1h30m
	kindList                 // a list of strings; comma-separated in the environment
)

// setting is one configuration value with its three spellings: its key in
// the config file (dotted for nested keys), its environment variable and
// its flag. The per-class KEKs (keks.<class>, FIELDCRYPT_KEK_<CLASS>,
// --kek CLASS=URI) and the per-class accepted KEKs (accept_keks.<class>,
// FIELDCRYPT_ACCEPT_KEKS, --accept-kek CLASS=URI) are handled apart.
type setting struct {
	key   string
	env   string
	flag  string
	kind  settingKind
	usage string
	field func(*config) any // *string, *time.Duration or *[]string
}

// settings lists every scalar and list setting, in the order --help shows
// their flags.
var settings = []setting{
	{"store", "FIELDCRYPT_STORE_DSN", "store", kindString,
		"keyset store: sqlite:PATH, postgres://..., mysql://USER@HOST/DB or dir:PATH",
		func(c *config) any { return &c.Store }},
	{"store_table", "FIELDCRYPT_STORE_TABLE", "store-table", kindString,
		"SQL table of the keyset store (default fieldcrypt_keysets)",
		func(c *config) any { return &c.StoreTable }},
	{"anchor", "FIELDCRYPT_ANCHOR_DSN", "anchor", kindString,
		"rollback anchor: a database outside the keyset store's (sqlite:PATH, postgres://..., mysql://...); the same one the application fleet uses",
		func(c *config) any { return &c.Anchor }},
	{"anchor_table", "FIELDCRYPT_ANCHOR_TABLE", "anchor-table", kindString,
		"SQL table of the rollback anchor (default fieldcrypt_keyset_anchor)",
		func(c *config) any { return &c.AnchorTable }},
	{"default_kek", "FIELDCRYPT_DEFAULT_KEK", "default-kek", kindString,
		"KEK URI of classes that have no KEK of their own",
		func(c *config) any { return &c.DefaultKEK }},
	{"cache_ttl", "FIELDCRYPT_CACHE_TTL", "cache-ttl", kindDuration,
		"the keyring cache TTL of the application fleet (default 5m0s)",
		func(c *config) any { return &c.CacheTTL }},
	{"propagation_margin", "FIELDCRYPT_PROPAGATION_MARGIN", "propagation-margin", kindDuration,
		"added to the cache TTL to give the default rotation wait (default 10s)",
		func(c *config) any { return &c.PropagationMargin }},
	{"lease", "FIELDCRYPT_LEASE", "lease", kindDuration,
		"how long a key range claimed by a reencrypt worker stays its own without a committed batch; a killed worker's ranges are taken over after it (default 30s)",
		func(c *config) any { return &c.Lease }},
	{"tables_file", "FIELDCRYPT_TABLES_FILE", "tables", kindString,
		"YAML file describing the job's tables (default: tables: in the config file)",
		func(c *config) any { return &c.TablesFile }},
	{"database", "FIELDCRYPT_DATABASE_DSN", "database", kindString,
		"the CRM database the re-encryption job works on (default: the store's database)",
		func(c *config) any { return &c.Database }},
	{"vault.address", "FIELDCRYPT_VAULT_ADDRESS", "vault-address", kindString,
		"Vault server URL (default VAULT_ADDR); the token comes from VAULT_TOKEN",
		func(c *config) any { return &c.VaultAddress }},
	{"vault.namespace", "FIELDCRYPT_VAULT_NAMESPACE", "vault-namespace", kindString,
		"Vault Enterprise namespace (default VAULT_NAMESPACE)",
		func(c *config) any { return &c.VaultNamespace }},
	{"aws.region", "FIELDCRYPT_AWS_REGION", "aws-region", kindString,
		"AWS region, overriding the key ARN's",
		func(c *config) any { return &c.AWSRegion }},
	{"aws.endpoint", "FIELDCRYPT_AWS_ENDPOINT", "aws-endpoint", kindString,
		"AWS KMS endpoint URL (a VPC endpoint, or an emulator)",
		func(c *config) any { return &c.AWSEndpoint }},
	{"gcp.endpoint", "FIELDCRYPT_GCP_ENDPOINT", "gcp-endpoint", kindString,
		"Cloud KMS host:port (default Google's)",
		func(c *config) any { return &c.GCPEndpoint }},
	{"gcp.credentials_file", "FIELDCRYPT_GCP_CREDENTIALS_FILE", "gcp-credentials-file", kindString,
		"service-account key file (default Application Default Credentials)",
		func(c *config) any { return &c.GCPCredentials }},
	{"log_format", "FIELDCRYPT_LOG_FORMAT", "log-format", kindString,
		"format of logs and audit events on stderr: text, json, or auto (text on a terminal, json otherwise; the default)",
		func(c *config) any { return &c.LogFormat }},
	{"log_level", "FIELDCRYPT_LOG_LEVEL", "log-level", kindString,
		"least level logged: debug, info, warn or error (default info)",
		func(c *config) any { return &c.LogLevel }},
}

// kekSetting documents the per-class KEK setting.
const (
	kekKey       = "keks"
	kekEnvPrefix = "FIELDCRYPT_KEK_"
	kekFlag      = "kek"
	configEnv    = "FIELDCRYPT_CONFIG"

	acceptKey  = "accept_keks"
	acceptEnv  = "FIELDCRYPT_ACCEPT_KEKS"
	acceptFlag = "accept-kek"
)

// set parses raw as the setting's kind and stores it in c, noting from.
func (s setting) set(c *config, raw, from string) error {
	switch p := s.field(c).(type) {
	case *string:
		*p = raw
	case *time.Duration:
		d, err := parseDuration(raw)
		if err != nil {
			return err
		}
		*p = d
	case *[]string:
		*p = splitList(raw)
	default:
		return fmt.Errorf("setting %s has an unsupported type %T", s.key, p)
	}
	c.from[s.key] = from
	return nil
}

func parseDuration(raw string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(raw))
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: want a Go duration such as 5m, 90s or 1h30m", raw)
	}
	return d, nil
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(raw string) []string {
	var out []string
	for item := range strings.SplitSeq(raw, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
