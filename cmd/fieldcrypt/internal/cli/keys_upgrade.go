package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

func (a *app) keysUpgradeCommand() *cobra.Command {
	var scope string
	cmd := &cobra.Command{
		Use:   "upgrade",
		Short: "Rewrite keysets written before the keyset state was authenticated",
		Long: `upgrade rewrites, once, every keyset record in the version 1 format
(docs/FORMAT.md section 10): the keyset is unwrapped under the version 1
associated data and sealed again under the same KEK, with the same keys and
an authenticated state document at version 1. Keysets already in the
current format are left alone, so running it again does nothing.

The version 1 metadata (creation times, destroyed key IDs) was never
authenticated, and upgrade trusts it as version 1 did: run it once, right
after deploying this version, before the store can have been tampered with.
A version 1 record put back over a keyset this keyring or its anchor has
seen in the current format is a rollback, and upgrade refuses it.

It prints how many keysets it upgraded. Each costs one unwrap and one wrap.`,
		Example: `  fieldcrypt keys upgrade
  fieldcrypt keys upgrade --scope acme`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			kr, _, err := a.keyring(ctx, false)
			if err != nil {
				return err
			}
			admin := keyring.NewManager(kr)
			n, err := admin.UpgradeLegacy(ctx, scope)
			if err != nil {
				return a.keyringHint(fmt.Errorf("upgrade stopped after %d keysets (run it again to finish): %w", n, err), "")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "upgraded %d keysets\n", n)
			return nil
		},
	}
	cmd.Flags().StringVar(&scope, "scope", "", "upgrade only this scope (default: every scope)")
	return cmd
}
