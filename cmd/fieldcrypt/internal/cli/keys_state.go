package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

func (a *app) keysDisableCommand() *cobra.Command {
	var kf keyFlags
	cmd := &cobra.Command{
		Use:   "disable",
		Short: "Disable a key: values under it stop decrypting until enabled",
		Long: `disable keeps a key's material but stops it from encrypting or decrypting:
values still under it fail with a "key disabled" error until "keys enable".
The primary key cannot be disabled; promote another first.

Disable an old key once "fieldcrypt status" shows no value under it, and
leave it disabled for a while before destroying it: disabling is reversible,
destroying is not. For index keys, disabling the old key ends the
dual-index window: queries stop computing index values under it.`,
		Example: `  fieldcrypt keys disable --scope acme --class pii --key-id 1955030161
  fieldcrypt keys disable --scope acme --class pii --purpose index --key-id 3101219054`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			kr, store, err := a.keyring(ctx, false)
			if err != nil {
				return err
			}
			admin := keyring.NewManager(kr)
			id, _, err := kf.resolveKey(ctx, admin, store)
			if err != nil {
				return a.keyringHint(err, "")
			}
			if err := admin.DisableKey(ctx, id, kf.keyID); err != nil {
				return a.keyringHint(fmt.Errorf("disabling key %d of %s: %w", kf.keyID, id, err), id.Class)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "disabled key %d of %s\n", kf.keyID, id)
			return nil
		},
	}
	kf.register(cmd.Flags())
	return cmd
}

func (a *app) keysEnableCommand() *cobra.Command {
	var kf keyFlags
	cmd := &cobra.Command{
		Use:   "enable",
		Short: "Enable a disabled key again",
		Long: `enable re-enables a disabled key: values under it decrypt again. A
destroyed key cannot be enabled; its material is gone.`,
		Example: `  fieldcrypt keys enable --scope acme --class pii --key-id 1955030161`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			kr, store, err := a.keyring(ctx, false)
			if err != nil {
				return err
			}
			admin := keyring.NewManager(kr)
			id, _, err := kf.resolveKey(ctx, admin, store)
			if err != nil {
				return a.keyringHint(err, "")
			}
			if err := admin.EnableKey(ctx, id, kf.keyID); err != nil {
				return a.keyringHint(fmt.Errorf("enabling key %d of %s: %w", kf.keyID, id, err), id.Class)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "enabled key %d of %s\n", kf.keyID, id)
			return nil
		},
	}
	kf.register(cmd.Flags())
	return cmd
}
