package cli

import (
	"cmp"
	"log/slog"

	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/awskms"
	"github.com/fieldcrypt/fieldcrypt/kms/gcpkms"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
	"github.com/fieldcrypt/fieldcrypt/kms/vault"
)

// kekSchemes are the KEK URI schemes the tool opens, in the order errors
// list them.
var kekSchemes = []string{vault.Scheme, gcpkms.Scheme, awskms.Scheme, local.Scheme}

// newOpener registers the four KEK backends with the configured options.
// Credentials come from each backend's usual places (VAULT_TOKEN, read
// from env, the AWS default chain, Application Default Credentials or
// gcp.credentials_file), never from the config file.
func newOpener(cfg *config, env Env, log *slog.Logger) *kms.Opener {
	o := kms.NewOpener()
	o.Register(vault.Scheme, vault.OpenFunc(&vault.Options{
		Address:   cmp.Or(cfg.VaultAddress, env.getenv("VAULT_ADDR")),
		Token:     env.getenv("VAULT_TOKEN"),
		Namespace: cmp.Or(cfg.VaultNamespace, env.getenv("VAULT_NAMESPACE")),
		Logger:    log,
	}))
	o.Register(gcpkms.Scheme, gcpkms.OpenFunc(&gcpkms.Options{
		Endpoint:              cfg.GCPEndpoint,
		ServiceAccountKeyFile: cfg.GCPCredentials,
	}))
	o.Register(awskms.Scheme, awskms.OpenFunc(&awskms.Options{
		Region:   cfg.AWSRegion,
		Endpoint: cfg.AWSEndpoint,
	}))
	o.Register(local.Scheme, local.OpenFunc(&local.Options{Production: local.IsProduction(env.getenv(local.EnvVar))}))
	return o
}
