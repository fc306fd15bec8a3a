package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

func (a *app) keysShredCommand() *cobra.Command {
	var (
		scope      string
		force, yes bool
	)
	cmd := &cobra.Command{
		Use:   "shred",
		Short: "Crypto-shred a tenant: destroy every keyset of a scope",
		Long: `shred destroys every keyset of a scope (data and index, every class): all
of that tenant's encrypted values and blind indexes become permanently
unreadable, in every copy and backup of the data, while other scopes are
untouched.

It prints what it will destroy and asks you to type the scope name;
--yes skips the question. The "default" scope holds every record that has no
scope column: shredding it is refused without --force.

Backups and exports of the keyset store taken before the shred still hold
the keysets: shredding is complete only once those have expired or been
destroyed too.`,
		Example: `  fieldcrypt keys shred --scope acme
  fieldcrypt keys shred --scope acme --yes`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if scope == "" {
				return usagef("--scope is required: the scope (tenant) to shred")
			}
			if scope == keyring.DefaultScope && !force {
				return usagef("refusing to shred the %q scope, which holds every record without a scope column; pass --force if that is what you want", scope)
			}
			kr, store, err := a.keyring(ctx, false)
			if err != nil {
				return err
			}
			recs, err := store.List(ctx, scope)
			if err != nil {
				return fmt.Errorf("listing keysets of scope %q: %w", scope, err)
			}
			if len(recs) == 0 {
				return fmt.Errorf("scope %q has no keysets: nothing to shred", scope)
			}
			stderr := cmd.ErrOrStderr()
			fmt.Fprintf(stderr, "About to destroy for good the %d keysets of scope %q:\n", len(recs), scope)
			for _, rec := range recs {
				fmt.Fprintf(stderr, "  %s (KEK %s)\n", rec.ID, rec.KEKURI)
			}
			fmt.Fprintf(stderr, "Every value and blind index of scope %q becomes permanently unreadable.\n", scope)
			if !yes {
				if err := a.confirm(scope); err != nil {
					return err
				}
			}
			n, err := kr.Shred(ctx, scope)
			if err != nil {
				return fmt.Errorf("shredding scope %q (%d of %d keysets destroyed): %w", scope, n, len(recs), err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "shredded scope %q: %d keysets destroyed\n", scope, n)
			fmt.Fprintln(stderr, "Remember: exports and backups of the keyset store made before now still hold these keysets.")
			return nil
		},
	}
	cmd.Flags().StringVar(&scope, "scope", "", "scope (tenant) to shred (required)")
	cmd.Flags().BoolVar(&force, "force", false, "allow shredding the default scope")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}
