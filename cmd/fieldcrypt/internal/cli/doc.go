// Package cli is the fieldcrypt command: the security team's tool for
// creating, rotating, retiring, backing up and shredding keysets, and for
// running the re-encryption job with its verify and status passes. Package
// main only calls [Main]; tests drive [Run] with an [Env] of their own.
//
// # Commands
//
//	fieldcrypt keys init|list|add|promote|rotate|disable|enable|destroy|rewrap|shred|unshred|export|import
//	fieldcrypt reencrypt|verify|status
//	fieldcrypt leakage
//	fieldcrypt schema
//	fieldcrypt version
//
// Each has --help with examples. The keys commands call package keyring;
// reencrypt, verify, status and leakage call package reencrypt; destroy
// asks status (or, for an index key, verify) whether any configured column
// or token index still needs the key, and refuses if so unless forced.
//
// Token indexes (tokens: in a table's description) are rewritten by
// reencrypt with the row, in their side tables, checked by verify, and
// counted by row by status --index. leakage measures what the blind
// indexes and token side tables show without keys, and never opens the
// keyset store, the keyring or a KEK:
//
//	$ fieldcrypt leakage --table contacts
//	TABLE     INDEX       KIND      BITS  SCOPE           ROWS  INDEXED  DISTINCT  BUCKETS  TOP SHARE ...
//	contacts  email_idx   equality  6     (all scopes)    400   400      128       128      20.5%     ...
//	contacts  email_idx   equality  6     globex (worst)  200   200      64        64       41.0%     ...
//
//	contacts email_idx: one value dominates 1 of 2 scopes (worst: globex, 41.0% of its indexed rows in one bucket; ...)
//	  recommendation: one bucket holds 41.0% of the rows in scope "globex": use fewer bits, 1 instead of 6 (...)
//
// With --json it prints the same figures (reencrypt.LeakageReport per
// table, and the number of recommendations).
//
// # Configuration
//
// Settings come from a YAML file (--config, FIELDCRYPT_CONFIG), then
// FIELDCRYPT_* environment variables, then flags, each overriding the one
// before. The settings table in settings.go gives every setting its three
// spellings; errors name the setting and where its value came from (file
// and line, variable, or flag). The keyset store is a DSN: sqlite:PATH,
// postgres://..., mysql://... (mapped to a go-sql-driver DSN) or dir:PATH
// (keyring/filestore). All four KEK backends are registered; credentials
// come from each backend's usual places, never from the file.
//
// # Output and exit codes
//
// Results go to stdout; warnings, countdowns, progress bars and the
// keyring's audit events (log/slog, text on a terminal, JSON otherwise) go
// to stderr; in JSON log mode every stderr line is a JSON record, the final
// error included. Exit codes: [ExitOK], [ExitFailed], [ExitPartial] (a job
// left rows behind, or the job, verify, keys rotate, add, rewrap or shred
// was interrupted after part of its work) and [ExitUsage].
// No error, log line or output holds key material, a token or a DSN's
// password.
package cli
