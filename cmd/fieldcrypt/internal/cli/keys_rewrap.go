package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

func (a *app) keysRewrapCommand() *cobra.Command {
	var (
		scope  string
		dryRun bool
	)
	cmd := &cobra.Command{
		Use:   "rewrap",
		Short: "Re-encrypt stored keysets under the configured KEK (KEK rotation)",
		Long: `rewrap re-encrypts every stored keyset (of one scope, with --scope) under its
class's configured KEK: one KMS call per keyset where the KMS can rewrap in
place (Vault Transit's rewrap, AWS KMS's ReEncrypt to the same key, which
needs kms:ReEncryptFrom and kms:ReEncryptTo on that key), an unwrap and a
wrap otherwise. No data row is
touched, and applications keep working while it runs.

  - After rotating a KEK inside its KMS (a new key version, same URI), rewrap
    moves every keyset to the newest version.
  - To move a class to another KEK, configure the class's new URI in keks
    and accept the old URI for that class only (accept_keks: {pii: [OLD]},
    FIELDCRYPT_ACCEPT_KEKS=pii=OLD, or --accept-kek pii=OLD), run rewrap,
    check with "keys list" that no keyset of the class names the old KEK,
    then drop it from accept_keks. An accepted KEK opens the keysets of the
    class it is listed under, never those of another class.

rewrap is the only command that changes the KEK of a keyset: add, promote,
disable, enable and destroy refuse a keyset wrapped by another KEK than
the configured one, and point here.

rewrap stops at the first failure; running it again finishes the job. It
prints the keysets it rewrapped and the number of KMS calls it made.
Interrupted (Ctrl-C) after rewrapping some keysets, it exits 2 (partial).

--dry-run prints what it would rewrap and exits 0 even when there is work:
unlike "reencrypt --dry-run", which exits 2 when rows would be rewritten.`,
		Example: `  # after rotating the Transit key pii in Vault:
  fieldcrypt keys rewrap
  # moving class pii from one KEK to another:
  fieldcrypt keys rewrap --kek pii=aws-kms://arn:aws:kms:eu-west-1:111122223333:key/NEW \
      --accept-kek pii=aws-kms://arn:aws:kms:eu-west-1:111122223333:key/OLD
  fieldcrypt keys rewrap --scope acme --dry-run`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			kr, store, err := a.keyring(ctx, false)
			if err != nil {
				return err
			}
			admin := keyring.NewManager(kr)
			recs, err := store.List(ctx, scope)
			if err != nil {
				return fmt.Errorf("listing keysets: %w", err)
			}
			out := cmd.OutOrStdout()
			for _, rec := range recs {
				target, err := kr.KEKURI(rec.ID.Class)
				if err != nil {
					return a.keyringHint(fmt.Errorf("rewrapping %s: %w", rec.ID, err), rec.ID.Class)
				}
				how := "to the KEK's newest version"
				if target != rec.KEKURI {
					how = "from " + rec.KEKURI
				}
				fmt.Fprintf(out, "%-40s -> %s (%s)\n", rec.ID, target, how)
			}
			if dryRun {
				fmt.Fprintf(out, "dry run: %d keysets would be rewrapped\n", len(recs))
				return nil
			}
			rep, err := admin.Rewrap(ctx, scope)
			if err != nil {
				return interrupted(ctx, len(rep.Rewrapped), a.keyringHint(fmt.Errorf("rewrap stopped after %d of %d keysets (%d KMS calls made; run it again to finish): %w",
					len(rep.Rewrapped), len(recs), rep.KMSCalls, err), ""))
			}
			fmt.Fprintf(out, "rewrapped %d keysets; %d KMS calls made\n", len(rep.Rewrapped), rep.KMSCalls)
			return nil
		},
	}
	cmd.Flags().StringVar(&scope, "scope", "", "rewrap only this scope (default: every scope)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would be rewrapped, make no KMS call")
	return cmd
}
