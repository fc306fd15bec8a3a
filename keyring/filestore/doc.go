// Package filestore keeps wrapped keysets in a directory, one file per
// keyset. It implements [keyring.Store] for a single machine: development,
// the command-line tool, and services that run on one host.
//
// # Layout
//
// Each keyset is a file named after its ID, "<scope>.<class>.<purpose>.json",
// with every byte other than a-z, 0-9, '-' and '_' written as %xx (so
// "Acme Corp" is "%41cme%20%43orp"); when that name would be longer than 128
// bytes the file is "sha256-<hex of the ID>.json" instead. No name can leave
// the directory, and on a case-insensitive file system "Acme" and "acme"
// still get two files. Files starting with '.' are the store's own: ".lock"
// and temporary files.
//
// A file is a JSON object that names its format and carries every field of
// the [keyring.Record], bytes in standard base64 and times in RFC 3339:
//
//	{
//	  "format": "fieldcrypt-keyset-record/v1",
//	  "scope": "acme",
//	  "class": "pii",
//	  "purpose": "data",
//	  "kek_uri": "hcvault://transit/keys/pii",
//	  "encrypted_keyset": "CNfe...",
//	  "metadata": "eyJrZXlzIjpb...",
//	  "version": 3,
//	  "created": "2025-03-14T09:26:53.123456789Z",
//	  "updated": "2025-04-01T12:00:00Z"
//	}
//
// The store refuses a file with another format, unknown fields, or a record
// whose ID does not map to the file's name. Nothing in a file is secret
// (the keyset is encrypted under its KEK), so the directory may be backed up
// as is; still, [Open] creates it with mode 0700 and files get mode 0600.
//
// # Durability and concurrency
//
// Every write goes to a temporary file that is synced and then renamed over
// the record's file, and the directory is synced after, so a crash leaves
// the old record or the new one and readers never see part of a file.
// Reads take no lock.
//
// Writers take an exclusive flock(2) on the ".lock" file, so Create's
// existence check and Update's version check hold against other goroutines
// and other processes: of two processes updating a record from the same
// version, one succeeds and the other gets [keyring.ErrVersionConflict].
// Waiting for the lock honours the context.
//
// The lock is advisory and local. Use the store from processes on one
// machine only: flock does not work reliably on network file systems, and
// two machines sharing a directory could both win a compare-and-swap. For a
// fleet, use package keyring/sqlstore. The store works where flock(2)
// exists (Unix); elsewhere [Open] fails with [errors.ErrUnsupported].
package filestore
