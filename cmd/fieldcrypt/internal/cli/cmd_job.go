package cli

import "github.com/spf13/cobra"

const tablesHelp = `The tables come from the tables: key of the config file, or from the file
named by --tables (FIELDCRYPT_TABLES_FILE), in this form:

  tables:
    - name: contacts
      primary_key: id
      record: contact            # the record type bound into associated data
      scope: tenant_id           # the scope (tenant) column, if any
      ids: [{column: id, name: ID}]
      encrypted:
        - {column: email, name: Email, class: pii}
        - {column: notes, name: Notes, class: support, binary: true}
      indexes:
        - {column: email_idx, name: EmailIdx, sources: [email], transforms: lower+trim, bits: 32}
      tokens:                    # token indexes, stored in side tables
        - {name: EmailPrefix, kind: prefix, sources: [email], transforms: lower, bits: 12, min_len: 3, max_len: 8}
      # token_tables: {EmailPrefix: contacts_email_prefix}   # the default: <table>_<snake_case of the field>

They live in database (FIELDCRYPT_DATABASE_DSN, --database), by default the
keyset store's database.`

func (a *app) reencryptCommand() *cobra.Command {
	var f jobFlags
	cmd := &cobra.Command{
		Use:   "reencrypt",
		Short: "Re-encrypt stored values under the current primary keys (the rotation job)",
		Long: `reencrypt moves every stored value of the configured tables to the current
primary keys: it pages through each table by primary key, reads the key ID of
each value without decrypting it, and rewrites only the rows that are not
current (a value under an old data key, or a blind index not computed under
the primary index key). Writes are compare-and-swap, one transaction per
batch, so concurrent application writes are never lost; the job checkpoints
in job tables in the database, so a run that is killed resumes where it
stopped, and several workers (processes, machines) given the same --job
share one job by claiming key ranges.

Start it after "keys rotate" (or "keys promote") has completed. Follow it
with "fieldcrypt status"; check the result with "fieldcrypt verify".

On a terminal it draws a progress bar with rate and ETA; otherwise it logs
structured progress events (JSON lines by default). At the end it prints a
summary (JSON with --json; --summary-json FILE writes it too).

Exit codes: 0 done (or the job was already complete: it says so; use
--restart for a new pass); 2 partial (rows failed or skipped, or
interrupted: run again to resume; a dry run: rows would be rewritten); 1
failed (a database error, or a KEK that refuses or cannot open a keyset:
the job stops at the first one; progress is kept); 64 usage, or a
configured table or column the database lacks.

After a kill -9, a run under another --worker name waits for the dead
worker's ranges until their lease (--lease, default 30s) expires, and says
so; a run under the dead worker's name takes them over at once.

` + tablesHelp,
		Example: `  fieldcrypt reencrypt --dry-run
  fieldcrypt reencrypt --batch-size 1000 --concurrency 4 --rate 5000
  fieldcrypt reencrypt --table contacts --json > summary.json
  # two workers, on two machines, sharing one job:
  fieldcrypt reencrypt --job rotate-2025-06 --worker host-a
  fieldcrypt reencrypt --job rotate-2025-06 --worker host-b
  # a new pass after another rotation:
  fieldcrypt reencrypt --restart`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runJob(cmd, &f, false) },
	}
	f.register(cmd.Flags(), true)
	return cmd
}

func (a *app) verifyCommand() *cobra.Command {
	var f jobFlags
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check that every stored value decrypts and is under its primary key",
		Long: `verify reads every row of the configured tables and checks that every value
decrypts, is under its keyset's primary key, and that every blind index
equals its recomputation under the primary index key. It writes nothing.

Run it after the re-encryption job, and before disabling or destroying an old
key. Rows that are not current are counted ("not current"), unreadable ones
as failed, with the reason and primary key (never a value).

Exit codes: 0 every row is right; 2 some rows are not current or do not
decrypt; 1 failed (database or KEK error); 64 usage.

` + tablesHelp,
		Example: `  fieldcrypt verify
  fieldcrypt verify --table contacts --concurrency 4 --summary-json verify.json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runJob(cmd, &f, true) },
	}
	f.register(cmd.Flags(), false)
	return cmd
}
