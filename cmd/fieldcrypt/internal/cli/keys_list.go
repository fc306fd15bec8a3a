package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// listedKey is one line of keys list: a key of a keyset. It holds no key
// material.
type listedKey struct {
	Scope   string    `json:"scope"`
	Class   string    `json:"class"`
	Purpose string    `json:"purpose"`
	KeyID   uint32    `json:"key_id"`
	Status  string    `json:"status"`
	Primary bool      `json:"primary"`
	Created time.Time `json:"created,omitzero"`
	KEKURI  string    `json:"kek_uri"`
}

// States of keysets whose keys cannot be listed.
const (
	stateNoAccess = "no access" // no KEK of the class is configured
	stateShredded = "shredded"  // the scope was shredded: a tombstone
)

// unlistedState returns the state to show for a keyset of class whose
// keys kr could not read because of err, or "" when err is nil or must
// stop the listing (a failed integrity check, a rollback, a KEK that is
// configured for the class and refuses). ErrNoAccess is "no access" only
// when kr has no KEK for the class; with one, the KEK refused (revoked
// or missing credentials), which is an error.
func unlistedState(err error, kr *keyring.Keyring, class string) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, keyring.ErrScopeShredded):
		return stateShredded
	case errors.Is(err, keyring.ErrNoAccess):
		if _, noKEK := kr.KEKURI(class); noKEK != nil {
			return stateNoAccess
		}
	}
	return ""
}

func (a *app) keysListCommand() *cobra.Command {
	var (
		scope  string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List every keyset and key: ID, status, primary, created, KEK",
		Long: `list shows every key of every keyset (or of one scope): its ID, its status
(enabled, disabled or destroyed), whether it is the primary, when it was
created, and the URI of the KEK that wraps its keyset.

It reads only authenticated state: each keyset is unwrapped with its class's
KEK (one KMS call per keyset), so a database writer cannot make it lie. A
keyset of a class this configuration has no KEK for is listed with status
"no access", and the keysets of a shredded scope with status "shredded"
(their tombstones). A keyset that fails its integrity check, or whose
class's configured KEK refuses to unwrap it (revoked or missing KMS
credentials), stops the listing with an error naming the keyset and the
KEK (exit 1).`,
		Example: `  fieldcrypt keys list
  fieldcrypt keys list --scope acme
  fieldcrypt keys list --json | jq '.[] | select(.primary)'`,
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
			var rows []listedKey
			noAccess := map[string]bool{}
			for _, rec := range recs {
				keys, err := admin.Keys(ctx, rec.ID)
				if state := unlistedState(err, kr, rec.ID.Class); state != "" {
					rows = append(rows, listedKey{Scope: rec.ID.Scope, Class: rec.ID.Class, Purpose: string(rec.ID.Purpose), Status: state, KEKURI: rec.KEKURI})
					if state == stateNoAccess {
						noAccess[rec.ID.Class] = true
					}
					continue
				}
				if err != nil {
					return a.keyringHint(fmt.Errorf("listing keys: %w", err), rec.ID.Class)
				}
				for _, k := range keys {
					rows = append(rows, listedKey{
						Scope: rec.ID.Scope, Class: rec.ID.Class, Purpose: string(rec.ID.Purpose),
						KeyID: k.ID, Status: k.Status.String(), Primary: k.Primary, Created: k.Created.UTC(),
						KEKURI: rec.KEKURI,
					})
				}
			}
			for _, class := range sortedKeys(noAccess) {
				a.warn(fmt.Sprintf("the keysets of class %s are not listed: this configuration has no KEK for the class", class),
					"class", class, "hint", fmt.Sprintf("configure keks.%s, %s%s or --kek %s=URI", class, kekEnvPrefix, strings.ToUpper(class), class))
			}
			out := cmd.OutOrStdout()
			if asJSON {
				if rows == nil {
					rows = []listedKey{}
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			if len(rows) == 0 {
				a.info("no keysets (create them with `fieldcrypt keys init`)")
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "SCOPE\tCLASS\tPURPOSE\tKEY ID\tSTATUS\tPRIMARY\tCREATED\tKEK")
			for _, r := range rows {
				primary, created := "", "-"
				if r.Primary {
					primary = "yes"
				}
				if !r.Created.IsZero() {
					created = r.Created.Format(time.RFC3339)
				}
				keyID := strconv.FormatUint(uint64(r.KeyID), 10)
				if r.KeyID == 0 {
					keyID = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Scope, r.Class, r.Purpose, keyID, r.Status, primary, created, r.KEKURI)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&scope, "scope", "", "list only this scope (default: every scope)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array instead of a table")
	return cmd
}
