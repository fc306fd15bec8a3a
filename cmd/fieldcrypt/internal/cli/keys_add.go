package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

func (a *app) keysAddCommand() *cobra.Command {
	var sel selector
	cmd := &cobra.Command{
		Use:   "add",
		Short: "Phase one of a rotation: add a key, enabled but not primary",
		Long: `add adds a new key to each selected keyset, enabled but not primary:
application instances can decrypt under it as soon as they reload the keyset,
but nothing is encrypted under it yet.

Then wait until every instance has reloaded (longer than the fleet's cache
TTL) and promote the key with "keys promote". "keys rotate" does both with
the wait in between.`,
		Example: `  fieldcrypt keys add --scope acme --class pii
  fieldcrypt keys add --all-scopes --class pii --purpose all
  # ... wait longer than the cache TTL, then:
  fieldcrypt keys promote --scope acme --class pii --newest`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			kr, store, err := a.keyring(ctx, false)
			if err != nil {
				return err
			}
			admin := keyring.NewManager(kr)
			recs, err := sel.resolve(ctx, store)
			if err != nil {
				return err
			}
			added, err := a.addKeys(ctx, admin, recs, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "\nPromote after every instance has reloaded (wait at least %v):\n", a.cfg.propagation())
			for _, ak := range added {
				fmt.Fprintf(cmd.OutOrStdout(), "  %s\n", promoteCommandLine(ak))
			}
			return nil
		},
	}
	sel.register(cmd.Flags(), true)
	return cmd
}

// addedKey is a key that phase one added.
type addedKey struct {
	id    keyring.KeysetID
	keyID uint32
}

// addKeys adds a key to each keyset of recs. After a failure it reports
// the keys it did add, so they can be promoted or disabled; interrupted
// after adding some, it prints their promote commands and fails with
// ExitPartial.
func (a *app) addKeys(ctx context.Context, admin *keyring.Manager, recs []*keyring.Record, out io.Writer) ([]addedKey, error) {
	var added []addedKey
	for _, rec := range recs {
		keyID, err := admin.AddKey(ctx, rec.ID)
		if err != nil {
			err = a.keyringHint(fmt.Errorf("adding a key to %s: %w", rec.ID, err), rec.ID.Class)
			if len(added) > 0 {
				err = fmt.Errorf("%w (keys added before the failure: %s)", err, describeAdded(added))
			}
			if ctx.Err() != nil && len(added) > 0 {
				a.warn("interrupted: the added keys are enabled but not primary; promote them with:")
				for _, ak := range added {
					a.info("  "+promoteCommandLine(ak), "command", promoteCommandLine(ak))
				}
			}
			return added, interrupted(ctx, len(added), err)
		}
		added = append(added, addedKey{rec.ID, keyID})
		fmt.Fprintf(out, "added key %d to %s (enabled, not primary)\n", keyID, rec.ID)
	}
	return added, nil
}

func describeAdded(added []addedKey) string {
	s := ""
	for i, ak := range added {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s key %d", ak.id, ak.keyID)
	}
	return s
}

func promoteCommandLine(ak addedKey) string {
	return fmt.Sprintf("fieldcrypt keys promote --scope %s --class %s --purpose %s --key-id %d", ak.id.Scope, ak.id.Class, ak.id.Purpose, ak.keyID)
}

func (a *app) keysPromoteCommand() *cobra.Command {
	var (
		sel    selector
		keyID  uint32
		newest bool
		now    bool
	)
	cmd := &cobra.Command{
		Use:   "promote",
		Short: "Phase two of a rotation: make a key the primary",
		Long: `promote makes a key the primary of its keyset: new values are encrypted (or
indexed) under it, and old values still decrypt by key ID. Promote only after
every application instance has reloaded the keyset since the key was added
(longer than the cache TTL), or instances that have not would fail to
decrypt new values.

Name the key with --key-id (one keyset), or promote the newest enabled
non-primary key of every selected keyset with --newest.

promote refuses a key added less than the propagation wait ago (cache_ttl
plus propagation_margin, the wait "keys rotate" makes), and promotes
nothing then. --now promotes at once: use it only when every instance has
reloaded the keyset since the add (every instance was restarted).`,
		Example: `  fieldcrypt keys promote --scope acme --class pii --key-id 2868119302
  fieldcrypt keys promote --all-scopes --class pii --newest
  # every instance was restarted after the add:
  fieldcrypt keys promote --scope acme --class pii --newest --now`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if (keyID == 0) == !newest {
				return usagef("name the key to promote with --key-id, or pass --newest (not both)")
			}
			if keyID != 0 {
				sel.multi = false
			}
			kr, store, err := a.keyring(ctx, false)
			if err != nil {
				return err
			}
			admin := keyring.NewManager(kr)
			recs, err := sel.resolve(ctx, store)
			if err != nil {
				return err
			}
			// Every key is checked before any is promoted, so that a
			// refusal leaves every keyset as it was.
			targets := make([]keyring.KeyInfo, len(recs))
			for i, rec := range recs {
				ki, err := promotionCandidate(ctx, admin, rec.ID, keyID, newest)
				if err != nil {
					return a.keyringHint(err, rec.ID.Class)
				}
				if !now {
					if err := a.checkPropagated(rec.ID, ki); err != nil {
						return err
					}
				}
				targets[i] = ki
			}
			for i, rec := range recs {
				target := targets[i].ID
				if err := admin.PromoteKey(ctx, rec.ID, target); err != nil {
					return a.keyringHint(fmt.Errorf("promoting key %d of %s: %w", target, rec.ID, err), rec.ID.Class)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "promoted key %d of %s to primary\n", target, rec.ID)
			}
			return nil
		},
	}
	sel.register(cmd.Flags(), true)
	cmd.Flags().Uint32Var(&keyID, "key-id", 0, "the key to promote (one keyset)")
	cmd.Flags().BoolVar(&newest, "newest", false, "promote the newest enabled non-primary key of each selected keyset")
	cmd.Flags().BoolVar(&now, "now", false, "promote even a key added less than the propagation wait ago (every instance has reloaded)")
	return cmd
}

// checkPropagated refuses the promotion of a key added less than the
// propagation wait ago: an instance that has not reloaded the keyset since
// could not decrypt values written under it. A key whose creation time is
// not recorded is old enough.
func (a *app) checkPropagated(id keyring.KeysetID, ki keyring.KeyInfo) error {
	if ki.Created.IsZero() {
		return nil
	}
	wait := a.cfg.propagation()
	age := a.env.now().Sub(ki.Created)
	if age >= wait {
		return nil
	}
	return fmt.Errorf("refusing to promote key %d of %s: it was added %v ago, less than the propagation wait %v "+
		"(cache_ttl %v + propagation_margin %v), so an instance that has not reloaded the keyset could not decrypt values under it; "+
		"promote it from %s on, or pass --now if every instance has reloaded the keyset since the add (nothing was promoted)",
		ki.ID, id, age.Round(time.Millisecond), wait, a.cfg.CacheTTL, a.cfg.PropagationMargin,
		ki.Created.Add(wait).UTC().Format(time.RFC3339))
}

// promotionCandidate returns the key to promote in keyset id: keyID, or
// with newest the most recently added enabled key that is not the primary.
func promotionCandidate(ctx context.Context, admin *keyring.Manager, id keyring.KeysetID, keyID uint32, newest bool) (keyring.KeyInfo, error) {
	keys, err := admin.Keys(ctx, id)
	if err != nil {
		return keyring.KeyInfo{}, fmt.Errorf("reading the keys of %s: %w", id, err)
	}
	if !newest {
		for _, k := range keys {
			if k.ID == keyID {
				return k, nil
			}
		}
		return keyring.KeyInfo{}, fmt.Errorf("keyset %s has no key %d (see `fieldcrypt keys list --scope %s`)", id, keyID, id.Scope)
	}
	var best *keyring.KeyInfo
	for i := range keys {
		k := &keys[i]
		if k.Status == keyring.KeyEnabled && !k.Primary && (best == nil || !k.Created.Before(best.Created)) {
			best = k
		}
	}
	if best == nil {
		return keyring.KeyInfo{}, fmt.Errorf("%s has no enabled non-primary key to promote (add one with `fieldcrypt keys add`)", id)
	}
	return *best, nil
}
