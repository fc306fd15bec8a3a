package reencrypt

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// verdict is what a row needs.
type verdict uint8

const (
	vCurrent verdict = iota // nothing: every value current (verify: the row is right)
	vRewrite                // the new values are in set (verify: the row is stale)
	vFailed                 // a value cannot be read; the row is left as it is
	vSkipped                // legacy plaintext without Migrate; left for another run
)

// result is the examination of one row.
type result struct {
	verdict verdict
	key     any          // the normalised primary key
	raw     []any        // the row as read
	set     []any        // vRewrite: the values of layout.setColumns
	tokens  []tokenWrite // vRewrite: the token indexes whose side-table rows are replaced
	rowSame bool         // vRewrite: set holds the row's own values (only tokens change)
	legacy  bool         // an encrypted column held plaintext
	column  string
	reason  string // vFailed, vSkipped
}

// examiner decides, row by row, what the job must do. It reads key IDs
// without decrypting, and decrypts only rows it may have to rewrite. One
// examiner serves one goroutine.
type examiner struct {
	l        *layout
	schema   *crypt.Schema
	enc      *crypt.Encryptor
	db       rowsQuerier // reads the side tables of token indexes
	verify   bool        // check every row completely; never rewrite
	migrate  bool        // encrypt legacy plaintext
	noCrypto bool        // benchmark baseline: rewrite every row with its own values

	// Keyset facts, looked up once per batch so that a promotion seen by
	// the keyring takes effect at the next batch.
	primary  map[scopeClass]keyFact
	rotating map[scopeClass]keyFact
	stale    []bool // per encrypted column of the current row
	rot      []bool // per blind index of the current row: its index keyset is being rotated
	rebuild  []bool // per blind index: listed in the table's rebuild_indexes

	trot     []bool // per token index of the current row: its index keyset is being rotated
	trebuild []bool // per token index: listed in the table's rebuild_indexes
	tb       tokenBatch
}

type scopeClass struct{ scope, class string }

type keyFact struct {
	id  uint32 // primary key ID; for rotating, 1 when the index keyset has several enabled keys
	err error
}

func newExaminer(l *layout, schema *crypt.Schema, enc *crypt.Encryptor, db rowsQuerier, verify, migrate bool) (*examiner, error) {
	x := &examiner{
		l: l, schema: schema, enc: enc, db: db, verify: verify, migrate: migrate,
		primary: map[scopeClass]keyFact{}, rotating: map[scopeClass]keyFact{},
		stale: make([]bool, len(l.enc)), rot: make([]bool, len(l.idx)), rebuild: l.rebuildFlags(),
		trot: make([]bool, len(l.tok)), trebuild: l.rebuildTokenFlags(),
	}
	return x, nil
}

// newBatch forgets the keyset facts of the previous batch.
func (x *examiner) newBatch() {
	clear(x.primary)
	clear(x.rotating)
}

// primaryID returns the primary data key of (scope, class).
func (x *examiner) primaryID(ctx context.Context, scope, class string) (uint32, error) {
	k := scopeClass{scope, class}
	f, ok := x.primary[k]
	if !ok {
		// Examining reads: it never creates a keyset for a scope a row
		// names. A scope without a data keyset has no primary (0), so
		// none of its values counts as current.
		dk, err := x.enc.Keys().ExistingDataKeys(ctx, scope, class)
		switch {
		case err == nil:
			f.id = dk.PrimaryID()
		case errors.Is(err, keyring.ErrKeysetNotFound):
			err = nil
		}
		f.err = err
		x.primary[k] = f
	}
	return f.id, f.err
}

// indexRotating reports whether the index keyset of (scope, class) has
// several enabled keys: an index-key rotation is under way, and index
// values must be recomputed to know whether they are under the primary.
func (x *examiner) indexRotating(ctx context.Context, scope, class string) (bool, error) {
	k := scopeClass{scope, class}
	f, ok := x.rotating[k]
	if !ok {
		ik, err := x.enc.Keys().ExistingIndexKeys(ctx, scope, class)
		switch {
		case err == nil && len(ik.KeyIDs()) > 1:
			f.id = 1
		case errors.Is(err, keyring.ErrKeysetNotFound):
			err = nil // no index keyset: nothing rotating
		}
		f.err = err
		x.rotating[k] = f
	}
	return f.id == 1, f.err
}

// examine decides what row raw needs and counts its values into t. An
// error is not about the row (the KEK is unreachable, the context ended):
// the batch must stop and be retried.
func (x *examiner) examine(ctx context.Context, raw []any, t *tally) (result, error) {
	r := result{raw: raw}
	key, err := keyValue(x.l.t.keyType(), raw[0])
	if err != nil {
		return r, err
	}
	r.key = key
	if x.noCrypto {
		r.verdict, r.set = vRewrite, x.keep(raw)
		return r, nil
	}
	scope, err := x.l.scopeOf(raw)
	if err != nil {
		return r, err
	}

	// 1. Key IDs, read without decrypting. Every column is counted, even
	// after one that fails the row.
	needed := false
	var failure result
	for i, c := range x.l.enc {
		x.stale[i] = false
		state, keyID := inspect(raw[c.pos], c.binary)
		t.countValue(c.column, state, keyID)
		if failure.verdict == vFailed {
			continue
		}
		switch state {
		case valueMalformed:
			failure = x.fail(r, c.column, "malformed")
		case valueLegacy:
			r.legacy, x.stale[i], needed = true, true, true
		case valueEncrypted:
			if scope == "" {
				failure = x.fail(r, c.column, "missing_scope")
				continue
			}
			primary, err := x.primaryID(ctx, scope, c.class)
			if err != nil {
				if failure, err = x.rowError(r, c.column, err); err != nil {
					return r, err
				}
				continue
			}
			if keyID != primary {
				x.stale[i], needed = true, true
			}
		}
	}
	if failure.verdict == vFailed {
		failure.legacy = r.legacy
		return failure, nil
	}
	if r.legacy && !x.migrate && !x.verify {
		r.verdict, r.reason = vSkipped, "legacy"
		return r, nil
	}

	// 2. Blind indexes carry no key ID: they are checked, from decrypted
	// sources, when their index keyset is being rotated (or when
	// verifying).
	check := x.verify
	for j, c := range x.l.idx {
		x.rot[j] = false
		if scope == "" {
			continue
		}
		rotating, err := x.indexRotating(ctx, scope, c.class)
		if err != nil {
			return x.rowError(r, c.column, err)
		}
		x.rot[j] = rotating
		check = check || rotating || x.rebuild[j]
	}
	// So are token indexes, whose tokens do not record their key either.
	// A row being migrated has never had its tokens computed (the
	// application wrote it in plaintext): those its side tables lack are
	// written with its encryption, as its empty blind indexes are.
	migrating := r.legacy && x.migrate
	tcheck := false
	for j, c := range x.l.tok {
		x.trot[j] = false
		if scope == "" {
			continue
		}
		rotating, err := x.indexRotating(ctx, scope, c.class)
		if err != nil {
			return x.rowError(r, c.name, err)
		}
		x.trot[j] = rotating
		tcheck = tcheck || x.checksTokens(j, migrating)
	}
	if !needed && !check && !tcheck {
		return r, nil // vCurrent
	}

	// 3. Decrypt and re-encrypt. Every column that was already current
	// keeps its stored value.
	row, err := x.row(raw)
	if err != nil {
		return r, err
	}
	if x.migrate || x.verify {
		_, err = x.enc.DecryptRowMigrating(ctx, x.schema, row)
	} else {
		err = x.enc.DecryptRow(ctx, x.schema, row)
	}
	if err != nil {
		return x.rowError(r, "", err)
	}
	var plain crypt.Row
	if check || tcheck {
		plain = maps.Clone(row) // index values under older keys come from the plaintext sources
	}
	if err := x.enc.EncryptRow(ctx, x.schema, row); err != nil {
		return x.rowError(r, "", err)
	}
	set := make([]any, 0, len(x.l.enc)+len(x.l.idx))
	changed := false
	for i, c := range x.l.enc {
		if x.stale[i] {
			set, changed = append(set, row[c.column]), true
		} else {
			set = append(set, encValue(raw[c.pos], c.binary))
		}
	}
	for j, c := range x.l.idx {
		stored, _ := textOf(raw[c.pos]) // NULL and "" both mean "no index value"
		primary, _ := row[c.column].(string)
		switch {
		case stored == primary:
			set = append(set, raw[c.pos])
		case stored == "":
			// Never computed (a migrated or legacy row): compute it.
			set, changed = append(set, primary), true
		case x.rebuild[j]:
			// Written otherwise than the description says, on purpose:
			// rewrite it from the sources.
			set, changed = append(set, primary), true
		case !x.verify && !x.rot[j]:
			// One enabled index key: the stored value is under it. A
			// difference means the configuration disagrees with the
			// application, which only Verify reports.
			set = append(set, raw[c.pos])
		default:
			vals, err := x.enc.RowIndexValues(ctx, x.schema, plain, c.column)
			if err != nil {
				return x.rowError(r, c.column, err)
			}
			if len(vals) < 2 || !slices.Contains(vals[1:], stored) {
				// Under no enabled key: damaged, or computed otherwise
				// than the configuration says. Never overwrite it.
				return x.fail(r, c.column, "index_mismatch"), nil
			}
			set, changed = append(set, primary), true // under an older key
		}
	}
	// Token indexes: the side table's rows for the key against the tokens
	// EncryptRow computed under the primary index key.
	var writes []tokenWrite
	for j, c := range x.l.tok {
		if scope == "" || !x.checksTokens(j, migrating) {
			continue // one enabled index key: the stored tokens are under it
		}
		primary, _ := row[c.name].(crypt.Tokens)
		stored, err := x.storedTokens(ctx, j, r.key)
		if err != nil {
			return r, err
		}
		if x.trebuild[j] && !slices.Equal(stored, primary) {
			writes = append(writes, tokenWrite{j, primary})
			continue
		}
		if !x.verify && !x.trot[j] && !x.trebuild[j] {
			// A row being migrated, under one enabled index key: tokens
			// never written are computed, as its empty blind indexes are.
			// Tokens written otherwise are left as they are (the row is
			// encrypted all the same), for Verify to report.
			if len(stored) == 0 && len(primary) > 0 {
				writes = append(writes, tokenWrite{j, primary})
			}
			continue
		}
		state, err := x.classifyTokens(ctx, j, scope, stored, primary, plain)
		if err != nil {
			var ce *ConfigError
			if errors.As(err, &ce) {
				return r, err
			}
			return x.rowError(r, c.name, err)
		}
		switch state {
		case tokMissing, tokOlder:
			writes = append(writes, tokenWrite{j, primary})
		case tokUnmatched:
			// Under no enabled key: damaged, or computed otherwise than
			// the configuration says. Never overwrite them.
			return x.fail(r, c.name, "token_mismatch"), nil
		}
	}
	if changed || len(writes) > 0 {
		r.verdict, r.set, r.tokens, r.rowSame = vRewrite, set, writes, !changed
	}
	return r, nil
}

// checksTokens reports whether the stored tokens of token index j are
// read and checked against those computed from the row's sources: when
// verifying, during an index-key rotation of its class, when the index is
// listed in rebuild_indexes, and for a row whose legacy plaintext is
// being encrypted (migrating), whose tokens the application never wrote.
func (x *examiner) checksTokens(j int, migrating bool) bool {
	return x.verify || x.trot[j] || x.trebuild[j] || migrating
}

// keep returns the row's own values for the set columns.
func (x *examiner) keep(raw []any) []any {
	set := make([]any, 0, len(x.l.enc)+len(x.l.idx))
	for _, c := range x.l.enc {
		set = append(set, raw[c.pos])
	}
	for _, c := range x.l.idx {
		set = append(set, raw[c.pos])
	}
	return set
}

// row converts raw into the crypt.Row of the schema.
func (x *examiner) row(raw []any) (crypt.Row, error) {
	row := make(crypt.Row, len(x.l.cols))
	if x.l.scope >= 0 {
		s, err := idText(raw[x.l.scope])
		if err != nil {
			return nil, &ConfigError{Table: x.l.t.Name, Column: x.l.t.Scope, Msg: "scope column " + err.Error()}
		}
		row[x.l.t.Scope] = s
	}
	for i, pos := range x.l.ids {
		s, err := idText(raw[pos])
		if err != nil {
			col := x.l.t.IDs[i].Column
			return nil, &ConfigError{Table: x.l.t.Name, Column: col, Msg: "id column " + err.Error()}
		}
		row[x.l.t.IDs[i].Column] = s
	}
	for _, c := range x.l.enc {
		row[c.column] = encValue(raw[c.pos], c.binary)
	}
	return row, nil
}

func (x *examiner) fail(r result, column, reason string) result {
	r.verdict, r.column, r.reason = vFailed, column, reason
	return r
}

// rowError turns a crypt or keyring error about this row into a failed
// row, or returns it when it is not about the row.
func (x *examiner) rowError(r result, column string, err error) (result, error) {
	if kekFailure(err, x.enc.Keys()) {
		return r, &KEKError{Table: x.l.t.Name, Err: err}
	}
	reason := rowReason(err)
	if reason == "" {
		return r, err
	}
	var fe *crypt.FieldError
	var ae *crypt.AccessError
	switch {
	case errors.As(err, &ae) && len(ae.Fields) > 0:
		column = cmp.Or(x.l.byName[ae.Fields[0]], ae.Fields[0])
	case errors.As(err, &fe):
		column = cmp.Or(x.l.byName[fe.Field], column)
	}
	return x.fail(r, column, reason), nil
}

// rowReason names what is wrong with a row, or returns "" when err is not
// about the row but about the run (KEK unreachable, context ended, ...).
// Keyset failures that are about the run (kekFailure) are caught before.
func rowReason(err error) string {
	switch {
	case errors.Is(err, crypt.ErrNoAccess):
		return "no_access"
	case errors.Is(err, crypt.ErrKeyDestroyed):
		return "key_destroyed"
	case errors.Is(err, crypt.ErrKeyDisabled):
		return "key_disabled"
	case errors.Is(err, crypt.ErrKeyNotFound):
		return "key_not_found"
	case errors.Is(err, crypt.ErrMalformed):
		return "malformed"
	case errors.Is(err, crypt.ErrDecrypt):
		return "decrypt"
	case errors.Is(err, crypt.ErrNotEncrypted):
		return "legacy"
	case errors.Is(err, crypt.ErrAlreadyEncrypted):
		return "already_encrypted"
	case errors.Is(err, crypt.ErrMissingScope):
		return "missing_scope"
	case errors.Is(err, crypt.ErrMissingIdentity):
		return "missing_identity"
	case errors.Is(err, keyring.ErrInvalidName):
		return "invalid_scope"
	case errors.Is(err, keyring.ErrScopeShredded):
		return "scope_shredded"
	case errors.Is(err, keyring.ErrKeysetNotFound):
		return "keyset_not_found"
	}
	return ""
}
