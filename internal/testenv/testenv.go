// Package testenv tells tests where the services they need are, and decides
// what happens when one is missing: under CI (the CI environment variable is
// set) a missing service fails the test; elsewhere it skips it.
package testenv

import (
	"os"
	"testing"
)

// Addresses of the services, overridable through the environment. The
// defaults are the ones scripts/ starts and the development machine runs.
var (
	// PostgresDSN is a pgx connection string for a database the tests may
	// create schemas in.
	PostgresDSN = env("FIELDCRYPT_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	// MySQLDSN is a go-sql-driver/mysql DSN for MariaDB or MySQL.
	MySQLDSN = env("FIELDCRYPT_TEST_MYSQL", "root@tcp(127.0.0.1:3306)/test")
	// VaultAddr and VaultToken reach a Vault dev server (scripts/vault-dev.sh).
	VaultAddr  = env("FIELDCRYPT_TEST_VAULT_ADDR", "http://127.0.0.1:8200")
	VaultToken = env("FIELDCRYPT_TEST_VAULT_TOKEN", "fieldcrypt-dev-root")
	// AWSKMSEndpoint reaches local-kms (scripts/local-kms.sh).
	AWSKMSEndpoint = env("FIELDCRYPT_TEST_AWSKMS_ENDPOINT", "http://127.0.0.1:4599")
)

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// InCI reports whether the tests run under CI, where no service may be
// missing.
func InCI() bool { return os.Getenv("CI") != "" }

// Require stops the test when a service it needs is unavailable (err is not
// nil): it fails under CI and skips elsewhere.
func Require(t testing.TB, service string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if InCI() {
		t.Fatalf("%s is required under CI and is unavailable: %v (make test starts it)", service, err)
	}
	t.Skipf("%s unavailable: %v (make test starts it)", service, err)
}
