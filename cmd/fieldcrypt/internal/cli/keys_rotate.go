package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

func (a *app) keysRotateCommand() *cobra.Command {
	var (
		sel         selector
		propagation time.Duration
		force       bool
	)
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Rotate keys in two phases: add, wait for the fleet, promote",
		Long: `rotate adds a key to each selected keyset (enabled, not primary), waits
until every application instance must have reloaded the keysets, then
promotes the new keys to primary. New values are then written under the new
keys; old values still decrypt, and "fieldcrypt reencrypt" moves them.

The wait (--propagation) defaults to the fleet's cache TTL (cache_ttl) plus
propagation_margin (10s, the keyring's reload timeout). A wait shorter than
the cache TTL is refused without --force: an instance that has not reloaded
could not decrypt values written under the new key.

If rotate is interrupted (Ctrl-C) after adding a key, while adding the
others, during the wait or while promoting, the keys added and not promoted
stay enabled but not primary and it exits 2 (partial): promote them later
with the "keys promote" commands it prints, or run rotate again (it adds
another key). Interrupted before adding any key, it exits 1.

Index keys (--purpose index) rotate the same way: queries use every enabled
index key, so lookups keep working until the job has rewritten the index
columns. Then disable the old index key.`,
		Example: `  fieldcrypt keys rotate --scope acme --class pii
  fieldcrypt keys rotate --all-scopes --purpose all
  fieldcrypt keys rotate --scope acme --class pii --purpose index
  # every instance was restarted after the add: no need to wait a full TTL
  fieldcrypt keys rotate --scope acme --class pii --propagation 10s --force`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			kr, store, err := a.keyring(ctx, false)
			if err != nil {
				return err
			}
			admin := keyring.NewManager(kr)
			wait := a.cfg.propagation()
			if cmd.Flags().Changed("propagation") {
				wait = propagation
			}
			if wait < 0 {
				return usagef("--propagation %v: must not be negative", wait)
			}
			if wait < a.cfg.CacheTTL && !force {
				return usagef("--propagation %v is shorter than the cache TTL %v (%s): instances that have not reloaded "+
					"the keysets could not decrypt values under the new keys; pass --force if every instance has reloaded",
					wait, a.cfg.CacheTTL, a.cfg.origin("cache_ttl"))
			}
			recs, err := sel.resolve(ctx, store)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			added, err := a.addKeys(ctx, admin, recs, out)
			if err != nil {
				return err
			}
			if err := a.waitVisibly(ctx, wait, "for every instance to reload the keysets before promoting"); err != nil {
				a.warn("interrupted: the added keys are enabled but not primary; promote them with:")
				for _, ak := range added {
					a.info("  "+promoteCommandLine(ak), "command", promoteCommandLine(ak))
				}
				return &exitError{code: ExitPartial, err: fmt.Errorf("rotation interrupted before promotion (the keys were added, not promoted): %w", err)}
			}
			for i, ak := range added {
				if err := admin.PromoteKey(ctx, ak.id, ak.keyID); err != nil {
					err = fmt.Errorf("promoting key %d of %s: %w", ak.keyID, ak.id, err)
					rest := added[i:]
					err = fmt.Errorf("%w (not promoted: %s)", err, describeAdded(rest))
					if ctx.Err() != nil {
						a.warn("interrupted: these added keys are enabled but not primary; promote them with:")
						for _, ak := range rest {
							a.info("  "+promoteCommandLine(ak), "command", promoteCommandLine(ak))
						}
					}
					// Interrupted, the keys added are work done even if none was promoted yet.
					return interrupted(ctx, len(added), a.keyringHint(err, ak.id.Class))
				}
				fmt.Fprintf(out, "promoted key %d of %s to primary\n", ak.keyID, ak.id)
			}
			fmt.Fprintln(out, "\nNext: run `fieldcrypt reencrypt` to move stored values to the new keys, and `fieldcrypt status` to follow it.")
			return nil
		},
	}
	sel.register(cmd.Flags(), true)
	cmd.Flags().DurationVar(&propagation, "propagation", 0, "wait between add and promote (default: cache_ttl + propagation_margin)")
	cmd.Flags().BoolVar(&force, "force", false, "allow a wait shorter than the cache TTL")
	return cmd
}
