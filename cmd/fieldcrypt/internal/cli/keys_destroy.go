package cli

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

func (a *app) keysDestroyCommand() *cobra.Command {
	var (
		kf              keyFlags
		force, yes, now bool
	)
	cmd := &cobra.Command{
		Use:   "destroy",
		Short: "Destroy a key for good, once no stored value uses it",
		Long: `destroy deletes a key's material for good: every value still under it
becomes permanently unreadable, in every backup of the data. The primary key
cannot be destroyed.

destroy first counts, through the same scan as "fieldcrypt status", the
values under the key in every column of the configured tables, and refuses
while any remains: run "fieldcrypt reencrypt" until status shows none. For
an index key it looks only at the index columns of the key's class, in the
rows of the key's scope, and counts the values not under the primary index
key, as "fieldcrypt status --index --scope S --class C" does (it decrypts
their sources, so it needs the class's KEK); it refuses as well while any
row of that scope is unreadable (its sources do not decrypt), since then
nothing shows which index key computed it. With no tables configured it
cannot check, and refuses too. --force destroys
anyway (to cut off a leaked key at once, accepting the loss of the values
still under it).

destroy also refuses while the keyset changed (a promotion, a disable)
less than the propagation wait ago (cache_ttl + propagation_margin): an
instance that has not reloaded it may still hold the key as its primary
and write new values under it after the count. --now skips that wait, for
when every instance has reloaded the keyset.

destroy asks you to type the key ID to confirm; --yes skips the question.
Disable the key first and leave it disabled for a while: that is reversible.`,
		Example: `  fieldcrypt status --scope acme
  fieldcrypt keys disable --scope acme --class pii --key-id 1955030161
  fieldcrypt keys destroy --scope acme --class pii --key-id 1955030161
  # a leaked key, values still under it are to be given up:
  fieldcrypt keys destroy --scope acme --class pii --key-id 1955030161 --force --yes`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			kr, store, err := a.keyring(ctx, false)
			if err != nil {
				return err
			}
			admin := keyring.NewManager(kr)
			id, ki, err := kf.resolveKey(ctx, admin, store)
			if err != nil {
				return a.keyringHint(err, "")
			}
			switch {
			case ki.Status == keyring.KeyDestroyed:
				return fmt.Errorf("key %d of %s is already destroyed", ki.ID, id)
			case ki.Primary:
				return fmt.Errorf("key %d of %s is the primary: promote another key first (`fieldcrypt keys rotate`)", ki.ID, id)
			}
			if !force && !now {
				if err := a.checkSettled(ctx, store, id, ki.ID); err != nil {
					return err
				}
			}
			uses, checked, err := a.keyUsage(ctx, kr, id, ki.ID)
			switch {
			case err != nil && !force:
				return fmt.Errorf("checking that no stored value uses key %d of %s: %w (destroy refused; --force skips the check)", ki.ID, id, err)
			case err != nil:
				a.warn(fmt.Sprintf("could not check which values use the key: %v", err), "err", err)
			case !checked && !force:
				return fmt.Errorf("destroy refused: no tables are configured, so nothing shows that no stored value uses key %d of %s; "+
					"configure the job's tables (see `fieldcrypt status --help`) or pass --force", ki.ID, id)
			case !checked:
				a.warn(fmt.Sprintf("no tables configured: nothing checked that no stored value uses key %d", ki.ID), "key_id", ki.ID)
			case len(uses) > 0:
				var stale, unreadable int64
				for _, u := range uses {
					msg := fmt.Sprintf("  %s.%s: %d values under key %d", u.Table, u.Column, u.Values, ki.ID)
					switch {
					case u.Unreadable:
						unreadable += u.Values
						msg = fmt.Sprintf("  %s.%s: %d rows of scope %s could not be checked: their index sources do not decrypt, so key %d may compute their index values", u.Table, u.Column, u.Values, id.Scope, ki.ID)
					case u.Index:
						stale += u.Values
						msg = fmt.Sprintf("  %s.%s: %d index values of scope %s not under the primary index key (key %d may compute them)", u.Table, u.Column, u.Values, id.Scope, ki.ID)
					}
					a.info(msg, "table", u.Table, "column", u.Column, "values", u.Values, "key_id", ki.ID, "unchecked", u.Unreadable)
				}
				if !force {
					if id.Purpose == keyring.PurposeIndex {
						if stale == 0 {
							return fmt.Errorf("destroy refused: %d index values of scope %s in blind-index columns of class %s could not be checked (their rows' index sources do not decrypt: legacy plaintext, a disabled or destroyed data key), so index key %d of %s may still compute their index values; "+
								"make them readable (`fieldcrypt status --index --scope %s --class %s` counts them as unreadable), or pass --force to make those rows unfindable by index",
								unreadable, id.Scope, id.Class, ki.ID, id, id.Scope, id.Class)
						}
						return fmt.Errorf("destroy refused: %d blind-index columns of class %s still hold values of scope %s not under the primary index key, so index key %d of %s may still compute them; "+
							"run `fieldcrypt reencrypt` until `fieldcrypt status --index --scope %s --class %s` shows none, or pass --force to make those rows unfindable by index",
							countStale(uses), id.Class, id.Scope, ki.ID, id, id.Scope, id.Class)
					}
					return fmt.Errorf("destroy refused: %d columns still hold values under data key %d of %s; run `fieldcrypt reencrypt` until `fieldcrypt status --scope %s --class %s` shows none, or pass --force to make them unreadable",
						len(uses), ki.ID, id, id.Scope, id.Class)
				}
				a.warn("--force: the values above become permanently unreadable")
			}
			if ki.Status == keyring.KeyEnabled {
				a.info(fmt.Sprintf("note: key %d is still enabled; disabling it first is the reversible way to find forgotten uses", ki.ID), "key_id", ki.ID)
			}
			a.warn(fmt.Sprintf("About to destroy key %d of %s for good. Values under it can never be decrypted again.", ki.ID, id), "key_id", ki.ID, "keyset", id.String())
			if !yes {
				if err := a.confirm(strconv.FormatUint(uint64(ki.ID), 10)); err != nil {
					return err
				}
			}
			if err := admin.DestroyKey(ctx, id, ki.ID); err != nil {
				return a.keyringHint(fmt.Errorf("destroying key %d of %s: %w", ki.ID, id, err), id.Class)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "destroyed key %d of %s\n", ki.ID, id)
			return nil
		},
	}
	kf.register(cmd.Flags())
	cmd.Flags().BoolVar(&force, "force", false, "destroy even while stored values use the key, or when that cannot be checked")
	cmd.Flags().BoolVar(&now, "now", false, "destroy even a key of a keyset changed less than the propagation wait ago (every instance has reloaded it)")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

// checkSettled refuses to destroy a key of keyset id while the keyset's
// last change (the promotion that made key keyID a non-primary, its
// disabling) is younger than the propagation wait. Until every instance
// has reloaded the keyset, one may still hold the key as its primary and
// encrypt new values under it, after destroy's count of the values under
// the key: values that the destroy would make unreadable. The time is the
// record's Updated, which the keyring sets on each change; a store writer
// can forge it, but only to hurry an operator who passed the other checks.
func (a *app) checkSettled(ctx context.Context, store keyring.Store, id keyring.KeysetID, keyID uint32) error {
	rec, err := store.Get(ctx, id)
	if err != nil {
		return fmt.Errorf("reading keyset %s: %w", id, err)
	}
	if rec.Updated.IsZero() {
		return nil
	}
	wait := a.cfg.propagation()
	age := a.env.now().Sub(rec.Updated)
	if age >= wait {
		return nil
	}
	if age < 0 {
		return fmt.Errorf("refusing to destroy key %d of %s: the keyset's last change is dated %v in the future (this machine's clock and the writer's disagree), so the propagation wait %v cannot be told to have passed; "+
			"destroy it from %s on by this clock, or pass --now if every instance has reloaded the keyset since (nothing was destroyed)",
			keyID, id, (-age).Round(time.Millisecond), wait, rec.Updated.Add(wait).UTC().Format(time.RFC3339))
	}
	return fmt.Errorf("refusing to destroy key %d of %s: the keyset changed %v ago (a promotion or a disable), less than the propagation wait %v "+
		"(cache_ttl %v + propagation_margin %v), so an instance that has not reloaded it may still encrypt new values under key %d, which nothing would then decrypt; "+
		"destroy it from %s on (after `fieldcrypt status` shows no values under it), or pass --now if every instance has reloaded the keyset since (nothing was destroyed)",
		keyID, id, age.Round(time.Millisecond), wait, a.cfg.CacheTTL, a.cfg.PropagationMargin, keyID,
		rec.Updated.Add(wait).UTC().Format(time.RFC3339))
}

// countStale is the number of columns with index values not under the
// primary index key.
func countStale(uses []keyUse) int {
	n := 0
	for _, u := range uses {
		if u.Index && !u.Unreadable {
			n++
		}
	}
	return n
}
