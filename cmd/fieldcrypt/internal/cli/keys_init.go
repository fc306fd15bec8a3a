package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
)

func (a *app) keysInitCommand() *cobra.Command {
	var (
		scope       string
		classes     []string
		createLocal bool
	)
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create the store and a scope's data and index keysets",
		Long: `init creates the keyset store if it is missing (the SQL table, or the
directory) and the data and index keysets of every class named for the
scope, wrapped under each class's KEK. Keysets that exist are left alone, so
init is safe to run again. The application's keyring creates keysets on
first use too, unless it sets DisableAutoCreate; init creates a tenant's
keys ahead of time.

Without --class, init creates keysets for every class that has a KEK in the
configuration ("default" if only default_kek is set).

With --create-local-keks, missing key files of local:// KEKs are created
first: for development only.`,
		Example: `  fieldcrypt keys init --scope acme --class pii --class support
  fieldcrypt keys init --store sqlite:dev.db --kek pii=local://dev/pii-kek.json --create-local-keks`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, err := a.config()
			if err != nil {
				return err
			}
			if createLocal {
				if err := a.createLocalKEKs(); err != nil {
					return err
				}
			}
			if len(classes) == 0 {
				classes = sortedKeys(cfg.KEKs)
				if len(classes) == 0 {
					classes = []string{keyring.DefaultClass}
				}
			}
			kr, store, err := a.keyring(ctx, true)
			if err != nil {
				return err
			}
			admin := keyring.NewManager(kr)
			out := cmd.OutOrStdout()
			for _, class := range classes {
				uri, err := kr.KEKURI(class)
				if err != nil {
					return a.keyringHint(fmt.Errorf("creating keysets of %s/%s: %w", scope, class, err), class)
				}
				purposes := []keyring.Purpose{keyring.PurposeData, keyring.PurposeIndex}
				existed := make([]bool, len(purposes))
				for i, p := range purposes {
					id := keyring.KeysetID{Scope: scope, Class: class, Purpose: p}
					if err := id.Validate(); err != nil {
						return usagef("%w", err)
					}
					_, err := store.Get(ctx, id)
					if err != nil && !errors.Is(err, keyring.ErrKeysetNotFound) {
						return fmt.Errorf("reading keyset %s: %w", id, err)
					}
					existed[i] = err == nil
				}
				if err := admin.CreateKeysets(ctx, scope, class); err != nil {
					return a.keyringHint(fmt.Errorf("creating keysets of %s/%s: %w", scope, class, err), class)
				}
				for i, p := range purposes {
					state := "created"
					if existed[i] {
						state = "exists"
					}
					fmt.Fprintf(out, "%-40s %-8s KEK %s\n", keyring.KeysetID{Scope: scope, Class: class, Purpose: p}, state, uri)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&scope, "scope", keyring.DefaultScope, "scope (tenant) to create keysets for")
	cmd.Flags().StringArrayVar(&classes, "class", nil, "field class (repeatable; default: every configured class)")
	cmd.Flags().BoolVar(&createLocal, "create-local-keks", false, "create missing local:// KEK key files (development only)")
	return cmd
}

// createLocalKEKs creates the key file of every configured local:// KEK
// that does not exist yet.
func (a *app) createLocalKEKs() error {
	for _, uri := range a.cfg.localKEKs() {
		path, err := local.PathOf(uri)
		if err != nil {
			return usagef("%w", err)
		}
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if _, err := local.CreateInsecureKeyFile(path); err != nil {
			return fmt.Errorf("creating development KEK %s: %w", uri, err)
		}
		a.info(fmt.Sprintf("created development KEK key file %s (mode 0600)", path), "path", path)
	}
	return nil
}
