package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
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

It reads only the cleartext key information kept beside each wrapped keyset:
it makes no KMS call, so it works without access to the KEKs.`,
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
			recs, err := store.List(ctx, scope)
			if err != nil {
				return fmt.Errorf("listing keysets: %w", err)
			}
			var rows []listedKey
			for _, rec := range recs {
				keys, err := kr.Keys(ctx, rec.ID)
				if err != nil {
					return fmt.Errorf("listing keys: %w", err)
				}
				for _, k := range keys {
					rows = append(rows, listedKey{
						Scope: rec.ID.Scope, Class: rec.ID.Class, Purpose: string(rec.ID.Purpose),
						KeyID: k.ID, Status: k.Status.String(), Primary: k.Primary, Created: k.Created.UTC(),
						KEKURI: rec.KEKURI,
					})
				}
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
				fmt.Fprintln(cmd.ErrOrStderr(), "no keysets (create them with `fieldcrypt keys init`)")
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
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", r.Scope, r.Class, r.Purpose, r.KeyID, r.Status, primary, created, r.KEKURI)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&scope, "scope", "", "list only this scope (default: every scope)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array instead of a table")
	return cmd
}
