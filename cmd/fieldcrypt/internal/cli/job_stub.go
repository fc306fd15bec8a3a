package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

var errNoJob = errors.New("the re-encryption job is not available in this build yet")

func (a *app) reencryptCommand() *cobra.Command {
	return &cobra.Command{Use: "reencrypt", Short: "Re-encrypt stored values under the current keys", Args: noArgs, Example: "  fieldcrypt reencrypt",
		RunE: func(*cobra.Command, []string) error { return errNoJob }}
}

func (a *app) verifyCommand() *cobra.Command {
	return &cobra.Command{Use: "verify", Short: "Check every stored value decrypts and is under the primary key", Args: noArgs, Example: "  fieldcrypt verify",
		RunE: func(*cobra.Command, []string) error { return errNoJob }}
}

func (a *app) statusCommand() *cobra.Command {
	return &cobra.Command{Use: "status", Short: "Count stored values per key ID, per table and column", Args: noArgs, Example: "  fieldcrypt status",
		RunE: func(*cobra.Command, []string) error { return errNoJob }}
}
