package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

// statusKey is one line of status: the values of a column under one key,
// with that key's state in the keyring.
type statusKey struct {
	Scope  string `json:"scope"`
	KeyID  uint32 `json:"key_id"`
	State  string `json:"state"` // primary, enabled, disabled, destroyed, unknown, no keyset
	Values int64  `json:"values"`
}

type statusColumn struct {
	Column       string      `json:"column"`
	Class        string      `json:"class"`
	Keys         []statusKey `json:"keys"`
	Legacy       int64       `json:"legacy"`
	Empty        int64       `json:"empty"`
	Malformed    int64       `json:"malformed"`
	MissingScope int64       `json:"missing_scope,omitempty"`
}

type statusTable struct {
	Table   string         `json:"table"`
	Rows    int64          `json:"rows"`
	Columns []statusColumn `json:"columns"`
	// Indexes and Tokens are filled with --index.
	Indexes []statusIndex `json:"indexes,omitempty"`
	Tokens  []statusToken `json:"tokens,omitempty"`
}

// statusToken is one line of status --index for a token index: its rows
// in one scope, by the index key their stored tokens are under.
type statusToken struct {
	Index     string `json:"index"`
	Kind      string `json:"kind"`
	SideTable string `json:"side_table"`
	Class     string `json:"class"`
	reencrypt.IndexScopeCounts
}

// statusIndex is one line of status --index: the values of a blind-index
// column in one scope, by the index key they are under.
type statusIndex struct {
	Column string `json:"column"`
	Class  string `json:"class"`
	reencrypt.IndexScopeCounts
}

// statusReport is the output of status.
type statusReport struct {
	Tables []statusTable `json:"tables"`
	// NotPrimary counts the values under a key that is not their keyset's
	// primary: what the re-encryption job has left to do.
	NotPrimary int64 `json:"not_primary"`
	Legacy     int64 `json:"legacy"`
	// IndexNotPrimary (with --index) counts the blind-index values not
	// under their index keyset's primary key.
	IndexNotPrimary int64 `json:"index_not_primary,omitempty"`
	// TokensNotPrimary (with --index) counts the rows whose stored tokens
	// are not those of their token index's primary index key, and
	// TokensMissing those that have none though their sources give some.
	TokensNotPrimary int64 `json:"tokens_not_primary,omitempty"`
	TokensMissing    int64 `json:"tokens_missing,omitempty"`
}

func (a *app) statusCommand() *cobra.Command {
	var (
		tables  []string
		scope   string
		class   string
		indexes bool
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Count stored values under each key, per table and column",
		Long: `status counts, for every encrypted column of the configured tables, how many
values sit under each key ID (per scope), and how many are legacy plaintext,
empty or malformed, beside the state of each key in the keyring (primary,
enabled, disabled, destroyed). It counts values by the key ID they carry
and decrypts none of them.

It is the evidence to check before disabling or destroying a key: a key
with values under it is still needed. "keys destroy" refuses while status
shows any.

Blind-index values do not record their key. With --index, status also
checks every blind-index column: it decrypts each row's index sources,
recomputes the index under every enabled index key, and counts per scope
the values under the primary index key, under an older enabled key, under
none (a disabled or destroyed key), and the rows it could not read. That
needs the class's KEK. Token indexes (tokens: in the tables description)
are counted the same way, by row: a row's tokens are current when the
set its side table holds equals the set recomputed under the primary
index key; "missing" rows have none though their sources give some. "keys destroy" of an index key runs this count for
the key's scope and class.

Key states come from authenticated keyset state, so status needs the KEK
of each class it shows (one KMS call per keyset); a class without one
shows "no access". A class whose configured KEK refuses (revoked or
missing KMS credentials) is an error naming the keyset and the KEK (exit
1).

` + tablesHelp,
		Example: `  fieldcrypt status
  fieldcrypt status --scope acme
  fieldcrypt status --index --scope acme --class pii
  fieldcrypt status --table contacts --json | jq .not_primary`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			kr, _, err := a.keyring(ctx, false)
			if err != nil {
				return err
			}
			jdb, err := a.openJobDB(ctx, tables)
			if err != nil {
				return err
			}
			states := keyStates{kr: kr, admin: keyring.NewManager(kr), cache: map[keyring.KeysetID]map[uint32]string{}}
			var rep statusReport
			for _, t := range jdb.tables {
				// A description that disagrees with the stored values
				// would count them under the wrong class.
				if err := reencrypt.CheckDrift(ctx, jdb.db, jdb.dialect, crypt.New(kr, nil), t); err != nil {
					return a.keyringHint(tablesError(fmt.Errorf("status of table %s: %w", t.Name, err)), "")
				}
				r, err := reencrypt.Status(ctx, jdb.db, jdb.dialect, t)
				if err != nil {
					return tablesError(fmt.Errorf("status of table %s: %w", t.Name, err))
				}
				st := statusTable{Table: r.Table, Rows: r.Rows}
				for _, c := range r.Columns {
					if class != "" && c.Class != class {
						continue
					}
					sc := statusColumn{Column: c.Column, Class: c.Class, Legacy: c.Legacy, Empty: c.Empty, Malformed: c.Malformed, MissingScope: c.MissingScope}
					for _, k := range c.Keys {
						if scope != "" && k.Scope != scope {
							continue
						}
						state, err := states.of(ctx, keyring.KeysetID{Scope: k.Scope, Class: c.Class, Purpose: keyring.PurposeData}, k.KeyID)
						if err != nil {
							return a.keyringHint(err, c.Class)
						}
						sc.Keys = append(sc.Keys, statusKey{Scope: k.Scope, KeyID: k.KeyID, State: state, Values: k.Values})
						if state != "primary" {
							rep.NotPrimary += k.Values
						}
					}
					rep.Legacy += c.Legacy
					st.Columns = append(st.Columns, sc)
				}
				if indexes {
					ir, err := reencrypt.IndexStatus(ctx, jdb.db, jdb.dialect, crypt.New(kr, nil), t, &reencrypt.IndexStatusOptions{Scope: scope, Class: class})
					if err != nil {
						return a.keyringHint(tablesError(fmt.Errorf("index status of table %s: %w", t.Name, err)), "")
					}
					for _, c := range ir.Columns {
						for _, sc := range c.Scopes {
							st.Indexes = append(st.Indexes, statusIndex{Column: c.Column, Class: c.Class, IndexScopeCounts: sc})
							rep.IndexNotPrimary += sc.NotPrimary()
						}
					}
					for _, ti := range ir.Tokens {
						for _, sc := range ti.Scopes {
							st.Tokens = append(st.Tokens, statusToken{Index: ti.Index, Kind: ti.Kind, SideTable: ti.Table, Class: ti.Class, IndexScopeCounts: sc})
							rep.TokensNotPrimary += sc.NotPrimary()
							rep.TokensMissing += sc.Missing
						}
					}
				}
				rep.Tables = append(rep.Tables, st)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "TABLE\tCOLUMN\tCLASS\tSCOPE\tKEY ID\tKEY STATE\tVALUES")
			for _, t := range rep.Tables {
				for _, c := range t.Columns {
					for _, k := range c.Keys {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%d\n", t.Table, c.Column, c.Class, k.Scope, k.KeyID, k.State, k.Values)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t\t(legacy plaintext)\t\t%d\n", t.Table, c.Column, c.Class, c.Legacy)
					if c.Malformed > 0 {
						fmt.Fprintf(tw, "%s\t%s\t%s\t\t(malformed)\t\t%d\n", t.Table, c.Column, c.Class, c.Malformed)
					}
					if c.MissingScope > 0 {
						fmt.Fprintf(tw, "%s\t%s\t%s\t\t(encrypted, scope column empty)\t\t%d\n", t.Table, c.Column, c.Class, c.MissingScope)
					}
				}
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if indexes {
				fmt.Fprintln(out)
				tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "TABLE\tINDEX COLUMN\tCLASS\tSCOPE\tPRIMARY KEY\tOLDER KEY\tNO ENABLED KEY\tEMPTY\tUNREADABLE")
				for _, t := range rep.Tables {
					for _, ix := range t.Indexes {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\n", t.Table, ix.Column, ix.Class, ix.Scope, ix.Primary, ix.Older, ix.Unmatched, ix.Empty, ix.Unreadable)
					}
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				if slices.ContainsFunc(rep.Tables, func(t statusTable) bool { return len(t.Tokens) > 0 }) {
					fmt.Fprintln(out)
					tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
					fmt.Fprintln(tw, "TABLE\tTOKEN INDEX\tKIND\tSIDE TABLE\tCLASS\tSCOPE\tROWS: CURRENT\tOLDER KEY\tNO ENABLED KEY\tMISSING\tUNREADABLE")
					for _, t := range rep.Tables {
						for _, tk := range t.Tokens {
							fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\n", t.Table, tk.Index, tk.Kind, tk.SideTable, tk.Class, tk.Scope,
								tk.Primary, tk.Older, tk.Unmatched, tk.Missing, tk.Unreadable)
						}
					}
					if err := tw.Flush(); err != nil {
						return err
					}
				}
			}
			switch {
			case rep.NotPrimary > 0:
				fmt.Fprintf(out, "\n%d values are under keys that are not their keyset's primary: run `fieldcrypt reencrypt` before disabling or destroying those keys.\n", rep.NotPrimary)
			default:
				fmt.Fprintln(out, "\nEvery encrypted value is under its keyset's primary key.")
			}
			if indexes && rep.IndexNotPrimary > 0 {
				fmt.Fprintf(out, "%d blind-index values are not under their primary index key: run `fieldcrypt reencrypt` before disabling or destroying the old index keys.\n", rep.IndexNotPrimary)
			}
			if indexes && rep.TokensNotPrimary+rep.TokensMissing > 0 {
				fmt.Fprintf(out, "%d rows hold tokens not under their primary index key, and %d none though their sources give some: run `fieldcrypt reencrypt` before disabling or destroying the old index keys.\n", rep.TokensNotPrimary, rep.TokensMissing)
			}
			if rep.Legacy > 0 {
				fmt.Fprintf(out, "%d values are legacy plaintext: `fieldcrypt reencrypt --migrate` encrypts them.\n", rep.Legacy)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&tables, "table", nil, "count this configured table only (repeatable; default: every table)")
	cmd.Flags().StringVar(&scope, "scope", "", "show only this scope's keys")
	cmd.Flags().StringVar(&class, "class", "", "show only this field class's columns")
	cmd.Flags().BoolVar(&indexes, "index", false, "also check the blind-index columns (decrypts their sources: needs the class's KEK)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return cmd
}

// keyStates looks up (once per keyset) the state of keys in the keyring,
// from the keyset's authenticated state: one KMS call per keyset.
type keyStates struct {
	kr    *keyring.Keyring
	admin *keyring.Manager // of kr
	cache map[keyring.KeysetID]map[uint32]string
}

// anyKey stands for every key of a keyset whose keys cannot be read.
const anyKey = 0

func (s *keyStates) of(ctx context.Context, id keyring.KeysetID, keyID uint32) (string, error) {
	m, ok := s.cache[id]
	if !ok {
		m = map[uint32]string{}
		keys, err := s.admin.Keys(ctx, id)
		switch {
		case errors.Is(err, keyring.ErrKeysetNotFound):
			m = nil
		case unlistedState(err, s.kr, id.Class) != "":
			m = map[uint32]string{anyKey: unlistedState(err, s.kr, id.Class)} // shredded, or no KEK for the class
		case err != nil:
			return "", fmt.Errorf("reading the keys of %s: %w", id, err)
		}
		for _, k := range keys {
			state := k.Status.String()
			if k.Primary {
				state = "primary"
			}
			m[k.ID] = state
		}
		s.cache[id] = m
	}
	if m == nil {
		return "no keyset", nil
	}
	if state, ok := m[anyKey]; ok {
		return state, nil
	}
	if state, ok := m[keyID]; ok {
		return state, nil
	}
	return "unknown", nil
}
