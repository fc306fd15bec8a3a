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

Each keyset is replaced by a tombstone whose state the class's KEK
authenticates: afterwards every encryption, decryption, blind-index lookup
and job run on the scope fails with "scope was shredded" and creates
nothing, until "keys unshred --yes" brings the scope back with new keys.

It prints what it will destroy and asks you to type the scope name;
--yes skips the question. The "default" scope holds every record that has no
scope column: shredding it is refused (exit 1) without --force.
Interrupted (Ctrl-C) after destroying some keysets, it exits 2 (partial):
run it again to finish.

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
				return fmt.Errorf("refusing to shred the %q scope, which holds every record without a scope column; pass --force if that is what you want", scope)
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
				return fmt.Errorf("scope %q has no keysets: nothing to shred", scope)
			}
			a.warn(fmt.Sprintf("About to destroy for good the %d keysets of scope %q:", len(recs), scope), "scope", scope, "keysets", len(recs))
			for _, rec := range recs {
				a.info(fmt.Sprintf("  %s (KEK %s)", rec.ID, rec.KEKURI), "keyset", rec.ID.String(), "kek", rec.KEKURI)
			}
			a.warn(fmt.Sprintf("Every value and blind index of scope %q becomes permanently unreadable.", scope), "scope", scope)
			if !yes {
				if err := a.confirm(scope); err != nil {
					return err
				}
			}
			n, err := admin.Shred(ctx, scope)
			if err != nil {
				return interrupted(ctx, n, a.keyringHint(fmt.Errorf("shredding scope %q (%d of %d keysets destroyed; run it again to finish): %w", scope, n, len(recs), err), ""))
			}
			if n == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "scope %q was already shredded: nothing left to destroy\n", scope)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "shredded scope %q: %d keysets destroyed\n", scope, n)
			a.info("Remember: exports and backups of the keyset store made before now still hold these keysets.")
			return nil
		},
	}
	cmd.Flags().StringVar(&scope, "scope", "", "scope (tenant) to shred (required)")
	cmd.Flags().BoolVar(&force, "force", false, "allow shredding the default scope")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}
