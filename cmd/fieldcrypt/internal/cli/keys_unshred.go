package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// errUnshredNeedsYes refuses an unshred without --yes.
var errUnshredNeedsYes = errors.New("unshred refused without --yes: it brings a shredded scope back with new keys " +
	"(its old data stays unreadable); pass --yes if that is what you want")

func (a *app) keysUnshredCommand() *cobra.Command {
	var (
		scope string
		yes   bool
	)
	cmd := &cobra.Command{
		Use:   "unshred",
		Short: "Bring a shredded scope back, with new keys",
		Long: `unshred brings back a scope that "keys shred" shredded: each of its
tombstones is replaced by a new keyset with fresh keys, under the class's
configured KEK, so that the tenant can be written again. It does not bring
the old data back: values written before the shred stay unreadable for
good (their keys are gone), and are best deleted.

Until a scope is unshredded, every encryption, decryption, blind-index
lookup and re-encryption job run on it fails with "scope was shredded" and
creates nothing. unshred is an explicit administrative act: it is refused
without --yes, and the keyring writes one audit event per keyset
("keyset unshredded").`,
		Example: `  fieldcrypt keys unshred --scope acme --yes
  fieldcrypt keys list --scope acme`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if scope == "" {
				return usagef("--scope is required: the shredded scope (tenant) to bring back")
			}
			if !yes {
				return errUnshredNeedsYes
			}
			kr, store, err := a.keyring(ctx, false)
			if err != nil {
				return err
			}
			admin := keyring.NewManager(kr)
			recs, err := store.List(ctx, scope)
			if err != nil {
				return fmt.Errorf("listing keysets of scope %q: %w", scope, err)
			}
			if len(recs) == 0 {
				return fmt.Errorf("scope %q has no keysets and was never shredded: nothing to bring back (create keysets with `fieldcrypt keys init --scope %s`)", scope, scope)
			}
			n, err := admin.Unshred(ctx, scope)
			if err != nil {
				return a.keyringHint(fmt.Errorf("unshredding scope %q (%d keysets brought back before the failure; run it again to finish): %w", scope, n, err), "")
			}
			if n == 0 {
				return fmt.Errorf("scope %q is not shredded: nothing was changed", scope)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "unshredded scope %q: %d keysets created with new keys; data written before the shred stays unreadable\n", scope, n)
			return nil
		},
	}
	cmd.Flags().StringVar(&scope, "scope", "", "the shredded scope (tenant) to bring back (required)")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "confirm: bring the scope back with new keys (required)")
	return cmd
}
