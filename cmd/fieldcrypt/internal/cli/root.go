package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

const rootLong = `fieldcrypt manages the keys of fieldcrypt-encrypted databases: it creates
and rotates keysets, rewraps them under a new KEK, backs them up and restores
them, shreds a tenant, and runs the re-encryption job that moves stored
values to the current keys.

Configuration comes from a YAML file (--config or FIELDCRYPT_CONFIG), then
FIELDCRYPT_* environment variables, then flags; each overrides the one
before. KEK credentials come from each backend's usual places (VAULT_TOKEN,
the AWS default chain, Google Application Default Credentials), never from
the config file.

Audit events of every key operation go to stderr as structured logs
(--log-format text|json). Results go to stdout.

Exit codes: 0 done, 1 failed or refused, 2 partial (a job left rows
failed or skipped or found rows not current, a reencrypt --dry-run found
rows to rewrite, or reencrypt, verify, keys rotate, keys add, keys rewrap
or keys shred was interrupted after doing part of its work), 64 usage or
configuration error. keys rewrap --dry-run exits 0 even when there is work.
In JSON log mode every line on stderr is a JSON record.

The runbook for every kind of rotation and for incident response is
docs/ROTATION.md.`

const rootExample = `  # A config file for a PostgreSQL keyset store and Vault Transit KEKs:
  #   store: postgres://fieldcrypt@db.internal/crm?sslmode=verify-full
  #   keks:
  #     pii: hcvault://transit/keys/pii
  #     support: hcvault://transit/keys/support
  #   cache_ttl: 5m
  #   vault:
  #     address: https://vault.internal:8200
  export FIELDCRYPT_CONFIG=/etc/fieldcrypt/fieldcrypt.yaml VAULT_TOKEN=...

  fieldcrypt keys init --scope acme --class pii --class support
  fieldcrypt keys list --scope acme
  fieldcrypt keys rotate --scope acme --class pii
  fieldcrypt reencrypt
  fieldcrypt status
  fieldcrypt leakage          # what the indexes show without keys (opens none)`

// rootCommand builds the command tree of one run.
func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "fieldcrypt",
		Short:         "Manage fieldcrypt keys and re-encrypt stored data",
		Long:          rootLong,
		Example:       rootExample,
		Version:       versionString(),
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          groupArgs,
		RunE:          a.groupRun,
	}
	root.SetIn(a.env.Stdin)
	root.SetOut(a.env.Stdout)
	root.SetErr(a.env.Stderr)
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	a.flags.register(root.PersistentFlags())

	root.AddCommand(a.keysCommand(), a.reencryptCommand(), a.verifyCommand(), a.statusCommand(), a.leakageCommand(), a.schemaCommand(), a.versionCommand())

	root.InitDefaultHelpCmd()
	for _, c := range root.Commands() {
		if c.Name() == "help" {
			c.Example = "  fieldcrypt help keys rotate\n  fieldcrypt keys rotate --help"
		}
	}
	return root
}

// groupArgs refuses arguments to a command that only groups others: they
// are a misspelt or unknown subcommand.
func groupArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return usagef("%s", msg)
}

// groupRun prints the help of a group command called without a
// subcommand (not in JSON log mode, where stderr carries only JSON).
func (a *app) groupRun(cmd *cobra.Command, _ []string) error {
	if !a.jsonStderr() {
		cmd.SetOut(cmd.ErrOrStderr())
		_ = cmd.Help()
	}
	return usagef("%s needs a command: one of %s", cmd.CommandPath(), strings.Join(subcommandNames(cmd), ", "))
}

func subcommandNames(cmd *cobra.Command) []string {
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	return names
}

// noArgs refuses positional arguments, as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments, got %q (options are flags, such as --scope)", cmd.CommandPath(), args[0])
	}
	return nil
}

// CommandPaths returns the path of every command of the tool, such as
// "fieldcrypt keys rotate", for documentation and tests.
func CommandPaths() []string {
	root := newApp(Env{}).rootCommand()
	var out []string
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		out = append(out, c.CommandPath())
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return out
}
