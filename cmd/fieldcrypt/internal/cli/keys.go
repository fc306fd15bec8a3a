package cli

import "github.com/spf13/cobra"

func (a *app) keysCommand() *cobra.Command {
	keys := &cobra.Command{
		Use:   "keys",
		Short: "Create, list, rotate, retire, back up and shred keysets",
		Long: `Keysets are one per (scope, field class, purpose): a scope is a tenant or
"default", a class groups fields by who may read them ("pii", "support"), and
the purpose is "data" (field encryption keys) or "index" (blind-index keys).
They are stored wrapped under their class's KEK.

Data-key rotation is two-phase: add a key (enabled, not primary), wait until
every application instance has reloaded the keyset (longer than the cache
TTL), then promote it. "keys rotate" does the three steps.`,
		Example: `  fieldcrypt keys init --scope acme --class pii
  fieldcrypt keys list
  fieldcrypt keys rotate --scope acme --class pii
  fieldcrypt keys export --out keysets-$(date +%F).json`,
		Args: groupArgs,
		RunE: a.groupRun,
	}
	keys.AddCommand(
		a.keysInitCommand(),
		a.keysListCommand(),
		a.keysAddCommand(),
		a.keysPromoteCommand(),
		a.keysRotateCommand(),
		a.keysDisableCommand(),
		a.keysEnableCommand(),
		a.keysDestroyCommand(),
		a.keysRewrapCommand(),
		a.keysUpgradeCommand(),
		a.keysShredCommand(),
		a.keysUnshredCommand(),
		a.keysExportCommand(),
		a.keysImportCommand(),
	)
	return keys
}
