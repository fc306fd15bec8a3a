package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

func (a *app) keysExportCommand() *cobra.Command {
	var (
		out, scope string
		force      bool
	)
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Back up the wrapped keysets to a JSON file",
		Long: `export writes every keyset (of one scope, with --scope) to a JSON file exactly
as stored: wrapped under its KEK. The file holds no key in clear: it is as
safe to keep as the store itself, and useless without the KEKs. It makes no
KMS call.

Losing the KEKs loses the data: a backup of the keysets does not replace the
KMS's own protection of the KEKs.

The file is created with mode 0600; an existing file is not overwritten
without --force. The export is written to a temporary file beside it and
put in place only once complete, so a failed or interrupted export leaves
an earlier backup of that name as it was. --out - writes to stdout.`,
		Example: `  fieldcrypt keys export --out keysets-$(date +%F).json
  fieldcrypt keys export --scope acme --out acme-keysets.json
  fieldcrypt keys export --out - | gzip > keysets.json.gz`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if out == "" {
				return usagef("--out is required: the file to write (- for stdout)")
			}
			kr, _, err := a.keyring(ctx, false)
			if err != nil {
				return err
			}
			admin := keyring.NewManager(kr)
			if out == "-" {
				n, err := admin.Export(ctx, cmd.OutOrStdout(), scope)
				if err != nil {
					return fmt.Errorf("exporting keysets: %w", err)
				}
				a.info(fmt.Sprintf("exported %d keysets", n), "keysets", n)
				return nil
			}
			if !force {
				if _, err := os.Lstat(out); err == nil {
					return fmt.Errorf("export file %s %w", out, errExportExists)
				}
			}
			var n int
			err = writeExportFile(out, force, func(w io.Writer) (err error) {
				n, err = admin.Export(ctx, w, scope)
				return err
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "exported %d keysets to %s\n", n, out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "file to write, - for stdout (required)")
	cmd.Flags().StringVar(&scope, "scope", "", "export only this scope (default: every scope)")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing file")
	return cmd
}

// link is os.Link; tests replace it to play a file system without hard
// links.
var link = os.Link

// errExportExists is the cause of an export refused because its file
// exists and --force was not given.
var errExportExists = errors.New("exists (pass --force to overwrite it)")

// writeExportFile writes an export to path through write, so that a
// failed or interrupted export leaves path as it was: write fills a
// temporary file (mode 0600) beside path, which is synced and then put
// in place, over an existing file only with overwrite. On failure the
// temporary file is removed; a previous backup at path is never
// truncated first.
func writeExportFile(path string, overwrite bool, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return fmt.Errorf("creating export file: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := write(f); err != nil {
		return fmt.Errorf("exporting keysets: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("writing export file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing export file: %w", err)
	}
	if overwrite {
		err = os.Rename(tmp, path)
	} else {
		// A link fails where path appeared meanwhile, which a rename
		// would replace.
		if err = link(tmp, path); err == nil {
			os.Remove(tmp)
		} else if !errors.Is(err, fs.ErrExist) {
			// A file system without hard links (FAT, exFAT, many
			// network and object-store mounts).
			err = renameExclusive(tmp, path)
		}
	}
	switch {
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("export file %s %w", path, errExportExists)
	case err != nil:
		return fmt.Errorf("writing export file: %w", err)
	}
	if d, err := os.Open(dir); err == nil { // make the new name durable
		d.Sync()
		d.Close()
	}
	return nil
}

// renameExclusive renames tmp to path, which must not exist, where hard
// links cannot be made: path is created first, which fails where it
// exists, and then replaced.
func renameExclusive(tmp, path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

func (a *app) keysImportCommand() *cobra.Command {
	var (
		in                string
		overwrite, verify bool
	)
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Restore wrapped keysets from an export",
		Long: `import reads a file written by "keys export" and stores its keysets, creating
the store (table or directory) if it is missing. It checks the whole file
before it touches the store: a file that is not a valid export, or (with
--verify) a keyset that does not unwrap, creates nothing, not even the
store. A keyset that already exists makes import fail unless --overwrite is
given.

--verify unwraps every keyset with its KEK before writing (one KMS call per
keyset): it proves that this configuration can use the backup, the point of
a restore drill. The KEKs the export names must be configured for the
class of each keyset (keks, default_kek, or accept_keks for that class).`,
		Example: `  # restore drill into a scratch store:
  fieldcrypt keys import --store sqlite:/tmp/drill.db --in keysets-2025-01-31.json --verify
  fieldcrypt keys import --in keysets.json --overwrite --verify
  gunzip -c keysets.json.gz | fieldcrypt keys import --in -`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if in == "" {
				return usagef("--in is required: the export file to read (- for stdin)")
			}
			var r io.Reader = cmd.InOrStdin()
			if in != "-" {
				f, err := os.Open(in)
				if err != nil {
					return fmt.Errorf("opening export file: %w", err)
				}
				defer f.Close()
				r = f
			}
			data, err := io.ReadAll(r)
			if err != nil {
				return fmt.Errorf("reading export file: %w", err)
			}
			if _, err := a.config(); err != nil {
				return err
			}
			// A first import into memory checks the whole file (and with
			// --verify unwraps every keyset) before the store is touched:
			// a bad file creates nothing, not even the store's table.
			check, err := a.keyringOn(keyring.NewMemoryStore(), nil, slog.New(slog.DiscardHandler)) // no anchor: a trial must not advance it
			if err != nil {
				return err
			}
			if _, err := keyring.NewManager(check).Import(ctx, bytes.NewReader(data), keyring.ImportOptions{Verify: verify}); err != nil {
				return a.keyringHint(fmt.Errorf("importing keysets: %w (nothing was written)", err), "")
			}
			kmsCalls := check.Stats().KMSCalls
			kr, _, err := a.keyring(ctx, true)
			if err != nil {
				return err
			}
			admin := keyring.NewManager(kr)
			// Verify again on the real import: only verified (authenticated)
			// versions advance the rollback anchor.
			n, err := admin.Import(ctx, bytes.NewReader(data), keyring.ImportOptions{Overwrite: overwrite, Verify: verify})
			if errors.Is(err, keyring.ErrKeysetExists) {
				return fmt.Errorf("importing keysets: %w (nothing was written; pass --overwrite to replace existing keysets)", err)
			}
			if err != nil {
				return a.keyringHint(fmt.Errorf("importing keysets (%d written): %w", n, err), "")
			}
			msg := fmt.Sprintf("imported %d keysets from %s", n, in)
			if verify {
				// Each keyset is unwrapped twice: in the trial and as it is written.
				msg += fmt.Sprintf("; each unwrapped with its KEK (%d KMS calls)", kmsCalls+kr.Stats().KMSCalls)
			}
			fmt.Fprintln(cmd.OutOrStdout(), msg)
			return nil
		},
	}
	cmd.Flags().StringVarP(&in, "in", "i", "", "export file to read, - for stdin (required)")
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "replace keysets that already exist")
	cmd.Flags().BoolVar(&verify, "verify", false, "unwrap every keyset with its KEK before writing")
	return cmd
}
