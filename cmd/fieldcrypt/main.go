// Command fieldcrypt is the security team's tool for fieldcrypt keys: it
// creates, lists and rotates keysets, rewraps them under a new KEK, backs
// them up and restores them, shreds a tenant, and runs the re-encryption
// job with its verify and status passes.
//
//	fieldcrypt --help
//
// See docs/ROTATION.md for the runbook. The commands live in package
// cmd/fieldcrypt/internal/cli; this file only hands them the process's
// arguments and standard streams.
package main

import (
	"os"

	"github.com/fieldcrypt/fieldcrypt/cmd/fieldcrypt/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
