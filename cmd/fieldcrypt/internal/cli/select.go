package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// selector chooses keysets by scope, class and purpose.
type selector struct {
	scope     string
	allScopes bool
	classes   []string
	purpose   string
	multi     bool // the command may act on several keysets
}

func (s *selector) register(fs *pflag.FlagSet, multi bool) {
	s.multi = multi
	fs.StringVar(&s.scope, "scope", keyring.DefaultScope, "scope (tenant) of the keysets")
	fs.StringArrayVar(&s.classes, "class", nil, "field class (repeatable; default: every class of the scope)")
	if multi {
		fs.BoolVar(&s.allScopes, "all-scopes", false, "act on the keysets of every scope")
		fs.StringVar(&s.purpose, "purpose", "data", "data, index or all")
	} else {
		fs.StringVar(&s.purpose, "purpose", "data", "data or index")
	}
}

// purposes returns the purposes the --purpose flag names.
func (s *selector) purposes() ([]keyring.Purpose, error) {
	switch s.purpose {
	case "data":
		return []keyring.Purpose{keyring.PurposeData}, nil
	case "index":
		return []keyring.Purpose{keyring.PurposeIndex}, nil
	case "all":
		if s.multi {
			return []keyring.Purpose{keyring.PurposeData, keyring.PurposeIndex}, nil
		}
	}
	want := "data or index"
	if s.multi {
		want = "data, index or all"
	}
	return nil, usagef("--purpose %q: want %s", s.purpose, want)
}

// resolve returns the stored keysets the flags select. Classes named with
// --class must exist; a single-keyset command must select exactly one.
func (s *selector) resolve(ctx context.Context, store keyring.Store) ([]*keyring.Record, error) {
	purposes, err := s.purposes()
	if err != nil {
		return nil, err
	}
	scope := s.scope
	if s.allScopes {
		scope = ""
	} else if err := (keyring.KeysetID{Scope: scope, Class: "x", Purpose: keyring.PurposeData}).Validate(); err != nil {
		return nil, usagef("--scope: %w", err)
	}
	recs, err := store.List(ctx, scope)
	if err != nil {
		return nil, fmt.Errorf("listing keysets: %w", err)
	}
	var out []*keyring.Record
	for _, r := range recs {
		if slices.Contains(purposes, r.ID.Purpose) && (len(s.classes) == 0 || slices.Contains(s.classes, r.ID.Class)) {
			out = append(out, r)
		}
	}
	where := fmt.Sprintf("scope %q", s.scope)
	if s.allScopes {
		where = "any scope"
	}
	for _, class := range s.classes {
		if !slices.ContainsFunc(out, func(r *keyring.Record) bool { return r.ID.Class == class }) {
			return nil, fmt.Errorf("no %s keyset of class %q in %s (create it with `fieldcrypt keys init --scope %s --class %s`)",
				s.purpose, class, where, s.scope, class)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no %s keysets in %s (list them with `fieldcrypt keys list`)", s.purpose, where)
	}
	if !s.multi && len(out) > 1 {
		names := make([]string, len(out))
		for i, r := range out {
			names[i] = r.ID.String()
		}
		return nil, usagef("this command acts on one keyset, and the flags select %d (%s): name one with --class", len(out), strings.Join(names, ", "))
	}
	return out, nil
}

// keyFlags select one key of one keyset.
type keyFlags struct {
	selector
	keyID uint32
}

func (k *keyFlags) register(fs *pflag.FlagSet) {
	k.selector.register(fs, false)
	fs.Uint32Var(&k.keyID, "key-id", 0, "ID of the key, as 'fieldcrypt keys list' shows it (required)")
}

// resolveKey returns the selected keyset and checks the key is in it.
func (k *keyFlags) resolveKey(ctx context.Context, admin *keyring.Manager, store keyring.Store) (keyring.KeysetID, keyring.KeyInfo, error) {
	if k.keyID == 0 {
		return keyring.KeysetID{}, keyring.KeyInfo{}, usagef("--key-id is required (see `fieldcrypt keys list`)")
	}
	recs, err := k.resolve(ctx, store)
	if err != nil {
		return keyring.KeysetID{}, keyring.KeyInfo{}, err
	}
	id := recs[0].ID
	keys, err := admin.Keys(ctx, id)
	if err != nil {
		return id, keyring.KeyInfo{}, fmt.Errorf("reading the keys of %s: %w", id, err)
	}
	for _, ki := range keys {
		if ki.ID == k.keyID {
			return id, ki, nil
		}
	}
	return id, keyring.KeyInfo{}, fmt.Errorf("keyset %s has no key %d (see `fieldcrypt keys list --scope %s`)", id, k.keyID, id.Scope)
}
