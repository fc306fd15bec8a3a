package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/keyring/sqlstore"
	"github.com/fieldcrypt/fieldcrypt/kms/local"
)

// app is one run of the command: its environment, its flags, and what the
// commands open (configuration, store, keyring), closed at the end.
type app struct {
	env         Env
	flags       *globalFlags
	cfg         *config
	log         *slog.Logger // logs and audit events, at the configured level
	operatorLog *slog.Logger // messages for the operator in JSON mode (stderrLogger)
	closers     []func() error
}

func newApp(env Env) *app {
	return &app{env: env, flags: newGlobalFlags(), log: slog.New(slog.DiscardHandler)}
}

// onClose registers f to run when the command ends.
func (a *app) onClose(f func() error) { a.closers = append(a.closers, f) }

func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

// config loads the configuration once: file, then environment, then flags.
func (a *app) config() (*config, error) {
	if a.cfg != nil {
		return a.cfg, nil
	}
	c := newConfig()
	path := a.flags.configPath
	if path == "" {
		path = a.env.getenv(configEnv)
	}
	if path != "" {
		if err := applyFile(c, path); err != nil {
			return nil, err
		}
	}
	if err := applyEnv(c, a.env.environ()); err != nil {
		return nil, err
	}
	if err := a.flags.apply(c); err != nil {
		return nil, err
	}
	if err := c.validate(kekSchemes); err != nil {
		return nil, err
	}
	a.cfg = c
	format := c.LogFormat
	if format == "auto" {
		format = "json"
		if a.env.isTerminal(a.env.Stderr) {
			format = "text"
		}
	}
	a.log = newLogger(a.env.Stderr, format, c.LogLevel)
	restore := routeDriverLogs(a.log) // the drivers' own logs, until the command ends
	a.onClose(func() error { restore(); return nil })
	a.warnLocalKEKs()
	return c, nil
}

// warnLocalKEKs says loudly on stderr that a development KEK is in use.
func (a *app) warnLocalKEKs() {
	uris := a.cfg.localKEKs()
	if len(uris) == 0 {
		return
	}
	if a.jsonStderr() {
		for _, uri := range uris {
			a.stderrLogger().Warn("DEVELOPMENT KEK in use: a key file on local disk, not a KMS; anyone who can read the file can unwrap every keyset it wraps; "+
				"never use local:// KEKs in production (FIELDCRYPT_ENV=production refuses them)", "kek", uri)
		}
		return
	}
	w := a.env.Stderr
	fmt.Fprintln(w, "WARNING: ********************************************************************")
	for _, uri := range uris {
		fmt.Fprintf(w, "WARNING: %s is a DEVELOPMENT KEK: a key file on local disk, not a KMS.\n", uri)
	}
	fmt.Fprintln(w, "WARNING: Anyone who can read the file can unwrap every keyset it wraps.")
	fmt.Fprintln(w, "WARNING: Never use local:// KEKs in production (FIELDCRYPT_ENV=production refuses them).")
	fmt.Fprintln(w, "WARNING: ********************************************************************")
}

// keyring opens the store and returns a keyring over it. Keysets are never
// created implicitly: only keys init creates them. With create, a missing
// store (table or directory) is created. The keys commands change keysets
// through a keyring.Manager on the returned keyring.
func (a *app) keyring(ctx context.Context, create bool) (*keyring.Keyring, keyring.Store, error) {
	_, err := a.config()
	if err != nil {
		return nil, nil, err
	}
	store, err := a.openStore(ctx, create)
	if err != nil {
		return nil, nil, err
	}
	anchor, err := a.openAnchor(ctx)
	if err != nil {
		return nil, nil, err
	}
	kr, err := a.keyringOn(store, anchor, a.log)
	if err != nil {
		return nil, nil, err
	}
	return kr, store, nil
}

// openAnchor opens the configured rollback anchor (nil when none is),
// creating its table when missing.
func (a *app) openAnchor(ctx context.Context) (keyring.Anchor, error) {
	if a.cfg.Anchor == "" {
		return nil, nil
	}
	ds, err := parseDSN(a.cfg.Anchor)
	if err != nil {
		return nil, usagef("%s: %w", a.cfg.origin("anchor"), err)
	}
	db, err := openDB(ctx, ds, false)
	if err != nil {
		return nil, fmt.Errorf("rollback anchor: %w", err)
	}
	a.onClose(db.Close)
	anchor, err := sqlstore.NewAnchor(db, ds.dialect, &sqlstore.AnchorOptions{Table: a.cfg.AnchorTable})
	if err != nil {
		return nil, usagef("%s: %w", a.cfg.origin("anchor_table"), err)
	}
	if err := anchor.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("rollback anchor %s: %w", ds.shown, err)
	}
	return anchor, nil
}

// keyringOn returns a keyring over store with the configured KEKs and the
// rollback anchor (nil for none), logging its audit events to log.
func (a *app) keyringOn(store keyring.Store, anchor keyring.Anchor, log *slog.Logger) (*keyring.Keyring, error) {
	cfg := a.cfg
	if err := a.checkLocalKEKFiles(); err != nil {
		return nil, err
	}
	kr, err := keyring.New(keyring.Config{
		Anchor:            anchor,
		Store:             store,
		Opener:            newOpener(cfg, a.env, a.log),
		KEKs:              cfg.KEKs,
		DefaultKEK:        cfg.DefaultKEK,
		AcceptKEKs:        cfg.AcceptKEKs,
		CacheTTL:          cfg.CacheTTL,
		DisableAutoCreate: true,
		Logger:            log,
	})
	if err != nil {
		return nil, fmt.Errorf("setting up the keyring: %w", err)
	}
	a.onClose(kr.Close)
	return kr, nil
}

// checkLocalKEKFiles fails, with the flag that creates them, when the key
// file of a configured local:// KEK does not exist (keyring.New would
// fail on it with no hint of that flag).
func (a *app) checkLocalKEKFiles() error {
	for _, uri := range a.cfg.localKEKs() {
		path, err := local.PathOf(uri)
		if err != nil {
			continue // keyring.New reports it
		}
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("the key file of the development KEK %s does not exist: "+
				"`fieldcrypt keys init --create-local-keks` creates missing local:// key files (development only; use a KMS in production): %w", uri, err)
		}
	}
	return nil
}

// noAccessHint adds what to do when err says a class cannot be read: the
// KEK to configure when the class has none, or, when its configured KEK
// refused, that KEK and what to check.
func (a *app) noAccessHint(err error, class string) error {
	if !errors.Is(err, keyring.ErrNoAccess) {
		return err
	}
	var kerr *keyring.Error
	if class == "" && errors.As(err, &kerr) {
		class = kerr.ID.Class
	}
	if class == "" {
		return err
	}
	if uri, noKEK := a.configuredKEK(class); noKEK == nil {
		keyset := "the keyset"
		if errors.As(err, &kerr) {
			keyset = "keyset " + kerr.ID.String()
		}
		return fmt.Errorf("%w (the KEK %s configured for class %s, set by %s, refused to unwrap %s: "+
			"check this process's KMS credentials and its grant on that key; a revoked grant makes the class unreadable until it is restored)",
			err, uri, class, a.kekOrigin(class), keyset)
	}
	return fmt.Errorf("%w (configure keks.%s in the config file, %s%s or --kek %s=URI, or a default_kek)",
		err, class, kekEnvPrefix, strings.ToUpper(class), class)
}
