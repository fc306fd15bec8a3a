package reencrypt

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"slices"
	"strings"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// ErrConfigDrift means a table's configuration disagrees with the values
// stored in the table: the application encrypts or indexes a column
// otherwise than the configuration says. Every [*DriftError] wraps it.
var ErrConfigDrift = errors.New("reencrypt: the configuration disagrees with the stored values")

// DriftKind is what a [DriftError] found disagreeing.
type DriftKind string

// The kinds of drift.
const (
	// DriftClass: an encrypted column's values are under keys that its
	// configured class's data keyset (of the row's scope) does not have,
	// or that keyset does not exist.
	DriftClass DriftKind = "class"
	// DriftIndex: a blind-index column's stored values equal none of their
	// recomputations, from the decrypted sources, under any enabled index
	// key: the configuration's transforms, name, sources or class differ
	// from the application's.
	DriftIndex DriftKind = "index"
	// DriftWidth: a blind-index column's stored values are of another
	// width than the configuration's bits (or its population's).
	DriftWidth DriftKind = "width"
)

// DriftError reports a column whose configuration disagrees with the
// values stored in it, found by the drift check that Run, Verify and
// [CheckDrift] make before reading the table for real. It names the table,
// the column, what disagrees, how many sampled rows showed it, and where
// the column is in the configuration file. It never holds a value, a key
// or a plaintext. Several drifting columns come as one error per column,
// joined with errors.Join.
type DriftError struct {
	Table  string
	Column string
	Kind   DriftKind
	// Msg says what disagrees, in words: classes, widths and counts only.
	Msg string
	// Rows is the number of sampled rows that showed the disagreement, out
	// of Evidence: the sampled rows that could show it either way (a value
	// under a known or an unknown key; an index value that could be
	// recomputed). Other sampled rows (empty, legacy plaintext, of a
	// shredded scope, of a class this keyring may not read) are no
	// evidence.
	Rows, Evidence int
	// Pos is where the column is in the configuration file (zero when the
	// configuration did not come from YAML).
	Pos position
}

// Line and Col return where in the configuration file the column is, or 0
// when that is not known.
func (e *DriftError) Line() int { return e.Pos.line }

// Col is the column (1-based) of Line; see Line.
func (e *DriftError) Col() int { return e.Pos.col }

// Unwrap returns ErrConfigDrift.
func (e *DriftError) Unwrap() error { return ErrConfigDrift }

func (e *DriftError) Error() string {
	var b strings.Builder
	b.WriteString("reencrypt: config drift")
	if e.Pos.line > 0 {
		fmt.Fprintf(&b, ": line %d, column %d", e.Pos.line, e.Pos.col)
	}
	fmt.Fprintf(&b, ": table %s: column %s: %s (%d of %d sampled rows)", e.Table, e.Column, e.Msg, e.Rows, e.Evidence)
	b.WriteString(": the configuration does not describe the column as the application writes it; " +
		"make it agree with the application's struct tags (crypt.SchemaOf derives the description from the struct); nothing was written")
	return b.String()
}

// CheckDrift samples rows of table t and checks that its configuration
// agrees with how they were written, as Run and Verify do before touching
// a row; the command-line tool calls it before status and before a key is
// destroyed on the evidence of the configured tables. It reads up to 64
// rows spread over the key order, writes nothing and creates no keyset.
// The error joins one *DriftError (wrapping [ErrConfigDrift]) per
// drifting column; a keyset the keyring cannot open is a *KEKError.
//
// What is checked, on the sample:
//
//   - Class. Each encrypted value's key ID must be a key (enabled,
//     disabled or destroyed) of the data keyset of its row's scope and of
//     the column's configured class. A keyset that does not exist, or
//     does not know the key ID, counts against the configuration. Legacy
//     plaintext, empty values, rows of a shredded scope or without a
//     scope, and classes for which the keyring has no KEK count neither
//     way.
//   - Blind indexes. Each non-empty stored index value is compared with its
//     recomputation, from the row's decrypted sources, under every enabled
//     index key (so a row mid-rotation, under the older key, agrees). A
//     value equal to none counts against the configuration; so does one of
//     another width than the configured bits, read from the stored value
//     itself. Rows whose sources do not decrypt, or are legacy plaintext,
//     count neither way; an empty stored value counts neither way.
//
// The rule: a column drifts when the sampled values that count against its
// configuration outnumber those that agree with it (in particular when
// none agrees). A minority that disagrees is what damaged rows, or rows
// under an index key disabled before the job finished, look like; the job
// names those rows one by one (they fail with "index_mismatch",
// "key_not_found"...) and never overwrites them, so they do not stop it.
func CheckDrift(ctx context.Context, db *sql.DB, d Dialect, enc *crypt.Encryptor, t Table) error {
	if enc == nil {
		return errors.New("reencrypt: nil *crypt.Encryptor")
	}
	if err := CheckColumns(ctx, db, d, t); err != nil {
		return err
	}
	schema, err := crypt.NewSchema(t.SchemaSpec)
	if err != nil {
		return &ConfigError{Table: t.Name, Msg: err.Error(), err: err}
	}
	x, err := newExaminer(newLayout(d, &t), schema, enc, db, true, false)
	if err != nil {
		return err
	}
	return checkDrift(ctx, db, x, slog.New(slog.DiscardHandler))
}

// columnEvidence counts what the sample shows about one column.
type columnEvidence struct {
	agree, disagree int

	// Encrypted columns: why values disagreed.
	noKeyset, unknownKey int

	// Index columns: the stored values' widths, read from the values.
	values    int         // non-empty stored values that are hex
	wrongLen  int         // of another length than the configured width's
	tooWide   int         // of the right length, with bits set past the configured width
	lens      map[int]int // values by length
	widest    map[int]int // by length, the widest value's width (the stored width, at least)
	noIndexKS int         // rows whose scope has no index keyset of the index's class
}

// checkDrift is the drift check of CheckDrift, on the examiner's layout
// and schema. Disagreements too few to refuse are logged on log, by
// column and count.
func checkDrift(ctx context.Context, db *sql.DB, x *examiner, log *slog.Logger) error {
	l := x.l
	rows, err := sampleRows(ctx, db, l)
	if err != nil {
		return err
	}
	encEv := make([]columnEvidence, len(l.enc))
	idxEv := make([]columnEvidence, len(l.idx))
	for i := range idxEv {
		idxEv[i].lens, idxEv[i].widest = map[int]int{}, map[int]int{}
	}
	slim, err := indexSchema(l.t)
	if err != nil {
		return err
	}
	for _, raw := range rows {
		if err := x.driftRow(ctx, raw, slim, encEv, idxEv); err != nil {
			return err
		}
	}

	var errs []error
	for i, c := range l.enc {
		ev := &encEv[i]
		if ev.disagree == 0 {
			continue
		}
		var why []string
		if ev.noKeyset > 0 {
			why = append(why, fmt.Sprintf("%d values in scopes that have no data keyset of class %q", ev.noKeyset, c.class))
		}
		if ev.unknownKey > 0 {
			why = append(why, fmt.Sprintf("%d values under keys that their scope's %q data keyset does not have", ev.unknownKey, c.class))
		}
		msg := fmt.Sprintf("class %q: the stored values were not written under this class (%s): a misspelt class, or another class than the application's", c.class, strings.Join(why, "; "))
		if ev.disagree <= ev.agree {
			log.Warn("drift check: some sampled values of an encrypted column are not under its configured class; the job will fail those rows and leave them as they are",
				"column", c.column, "class", c.class, "disagree", ev.disagree, "agree", ev.agree)
			continue
		}
		errs = append(errs, &DriftError{Table: l.t.Name, Column: c.column, Kind: DriftClass, Msg: msg,
			Rows: ev.disagree, Evidence: ev.agree + ev.disagree, Pos: l.t.posOf(c.column)})
	}
	for j, c := range l.idx {
		if slices.Contains(l.t.RebuildIndexes, c.column) {
			continue // written otherwise on purpose, and being rebuilt
		}
		ev := &idxEv[j]
		spec := l.t.Indexes[j]
		want := configuredBits(spec)
		if e := widthDrift(l.t, c, want, ev); e != nil {
			errs = append(errs, e)
			continue
		}
		if ev.disagree == 0 {
			continue
		}
		if ev.disagree <= ev.agree {
			log.Warn("drift check: some sampled blind-index values equal their recomputation under no enabled index key: "+
				"damaged rows, rows under an index key that was disabled, or a transform that matters only for some values; the job fails those rows and leaves them as they are",
				"column", c.column, "disagree", ev.disagree, "agree", ev.agree)
			continue
		}
		msg := fmt.Sprintf("the stored index values equal their recomputation under no enabled index key of class %q: "+
			"the configuration's transforms (%q), bits (%d), name (%q), sources (%s) or class disagree with the application's, "+
			"or most sampled rows are under an index key that is no longer enabled (keep an old index key enabled until the job has finished)", c.class, spec.Transforms, want, nameOr(spec.Name, spec.Column), strings.Join(spec.Sources, "+"))
		if ev.noIndexKS > 0 {
			msg = fmt.Sprintf("the stored index values cannot be under class %q: %d sampled rows' scopes have no index keyset of that class; "+
				"the configuration's class disagrees with the application's", c.class, ev.noIndexKS)
		}
		errs = append(errs, &DriftError{Table: l.t.Name, Column: c.column, Kind: DriftIndex, Msg: msg,
			Rows: ev.disagree, Evidence: ev.agree + ev.disagree, Pos: l.t.posOf(c.column)})
	}
	return errors.Join(errs...)
}

func nameOr(name, column string) string {
	if name != "" {
		return name
	}
	return column
}

// indexSchema is the schema of t's blind indexes alone: the scope, the
// identities, the indexes and their sources. The drift check decrypts
// index sources with it, so that a column it does not need (of a class
// this keyring may not read, or itself drifting) does not hide them.
func indexSchema(t *Table) (*crypt.Schema, error) {
	if len(t.Indexes) == 0 {
		return nil, nil
	}
	spec := crypt.SchemaSpec{Record: t.Record, Scope: t.Scope, IDs: t.IDs, Unbound: t.Unbound}
	for _, f := range t.Fields {
		if slices.ContainsFunc(t.Indexes, func(ix crypt.IndexSpec) bool { return slices.Contains(ix.Sources, f.Column) }) {
			spec.Fields = append(spec.Fields, f)
		}
	}
	for _, ix := range t.Indexes {
		ix.Class = t.IndexClass(ix)
		spec.Indexes = append(spec.Indexes, ix)
	}
	s, err := crypt.NewSchema(spec)
	if err != nil {
		return nil, &ConfigError{Table: t.Name, Msg: err.Error(), err: err}
	}
	return s, nil
}

// driftRow adds what one sampled row shows to the evidence.
func (x *examiner) driftRow(ctx context.Context, raw []any, slim *crypt.Schema, encEv, idxEv []columnEvidence) error {
	l := x.l
	keys := x.enc.Keys()
	scope, err := l.scopeOf(raw)
	if err != nil {
		return err
	}

	// Classes: key IDs, read without decrypting.
	for i, c := range l.enc {
		state, keyID := inspect(raw[c.pos], c.binary)
		if state != valueEncrypted || scope == "" {
			continue
		}
		dk, err := keys.ExistingDataKeys(ctx, scope, c.class) // never creates one
		switch {
		case err == nil && dk.Status(keyID) != keyring.KeyUnknown:
			encEv[i].agree++
		case err == nil:
			encEv[i].disagree++
			encEv[i].unknownKey++
		case errors.Is(err, keyring.ErrScopeShredded):
			// A shredded scope's keysets say nothing about classes.
		case errors.Is(err, keyring.ErrKeysetNotFound),
			errors.Is(err, keyring.ErrNoAccess) && keysetAbsent(ctx, keys, keyring.KeysetID{Scope: scope, Class: c.class, Purpose: keyring.PurposeData}):
			encEv[i].disagree++
			encEv[i].noKeyset++
		case kekFailure(err, keys):
			return &KEKError{Table: l.t.Name, Err: err}
		case rowReason(err) != "":
			// No KEK for the class (this process may not read it), an
			// invalid scope name: no evidence either way.
		default:
			return fmt.Errorf("reencrypt: drift check of %s: %w", l.t.Name, err)
		}
	}
	if slim == nil {
		return nil
	}

	// Widths, read from the stored index values.
	for j, c := range l.idx {
		stored, _ := textOf(raw[c.pos])
		if stored == "" || !isLowerHex(stored) {
			continue
		}
		ev := &idxEv[j]
		want := configuredBits(l.t.Indexes[j])
		w := storedWidth(stored)
		ev.values++
		ev.lens[len(stored)]++
		ev.widest[len(stored)] = max(ev.widest[len(stored)], w)
		switch {
		case len(stored) != hexLen(want):
			ev.wrongLen++
		case w > want:
			ev.tooWide++
		}
	}

	// Blind indexes, recomputed from the decrypted sources.
	if scope == "" {
		return nil
	}
	row, err := x.row(raw)
	if err != nil {
		return err
	}
	if _, err := x.enc.DecryptRowMigrating(ctx, slim, row); err != nil {
		switch {
		case kekFailure(err, keys):
			return &KEKError{Table: l.t.Name, Err: err}
		case errors.Is(err, crypt.ErrNoAccess):
			// The readable sources are decrypted; the others stay
			// encrypted and their indexes give no evidence.
		case rowReason(err) != "":
			return nil // the sources do not decrypt: no evidence
		default:
			return fmt.Errorf("reencrypt: drift check of %s: %w", l.t.Name, err)
		}
	}
	for j, c := range l.idx {
		stored, _ := textOf(raw[c.pos])
		ev := &idxEv[j]
		spec := l.t.Indexes[j]
		if stored == "" || x.anyLegacy(raw, spec.Sources) || (spec.Slow && ev.agree+ev.disagree >= driftPageRows) {
			continue // no evidence; a slow index is recomputed for one page's worth of rows
		}
		vals, err := x.enc.RowIndexValues(ctx, slim, row, c.column)
		switch {
		case err == nil && slices.Contains(vals, stored):
			ev.agree++
		case err == nil:
			ev.disagree++
			if _, kerr := keys.ExistingIndexKeys(ctx, scope, c.class); errors.Is(kerr, keyring.ErrKeysetNotFound) {
				ev.noIndexKS++
			}
		case kekFailure(err, keys):
			return &KEKError{Table: l.t.Name, Err: err}
		case rowReason(err) != "":
			// Sources left encrypted (no access to their class): no evidence.
		default:
			return fmt.Errorf("reencrypt: drift check of %s: %w", l.t.Name, err)
		}
	}
	return nil
}

// anyLegacy reports whether one of the columns holds legacy plaintext.
func (x *examiner) anyLegacy(raw []any, columns []string) bool {
	for _, c := range x.l.enc {
		if slices.Contains(columns, c.column) {
			if state, _ := inspect(raw[c.pos], c.binary); state == valueLegacy {
				return true
			}
		}
	}
	return false
}

// configuredBits is the width of the index as the configuration gives it:
// its bits, or the planner's width for its population.
func configuredBits(ix crypt.IndexSpec) int {
	if ix.Bits > 0 {
		return ix.Bits
	}
	return blind.Recommend(float64(ix.Population)).Bits
}

// hexLen is the length of the stored (hex) value of an index of width
// bits: ceil(bits/8) bytes.
func hexLen(bits int) int { return 2 * ((bits + 7) / 8) }

// storedWidth is the width a stored index value shows: up to its last bit
// set. A value of width w has its bits past w cleared, so the width is at
// least this.
func storedWidth(hexValue string) int {
	for i := len(hexValue) - 1; i >= 0; i-- {
		nibble := hexNibble(hexValue[i])
		if nibble != 0 {
			return 4*i + 4 - bits.TrailingZeros8(nibble)
		}
	}
	return 0
}

func hexNibble(c byte) uint8 {
	if c >= 'a' {
		return c - 'a' + 10
	}
	return c - '0'
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return len(s)%2 == 0
}

// minWidthEvidence is the number of bits of evidence (values × bits always
// cleared) from which stored values are taken to be narrower than the
// configuration says: a value of the configured width would have one of
// those bits set with probability 1 - 2^-minWidthEvidence.
const minWidthEvidence = 24

// widthDrift returns a *DriftError when the stored index values of c are
// of another width than the configured want bits, or nil. The width is read
// from the values themselves (their length, and the bits past the width
// that truncation clears), so it is checked even where the sources cannot
// be decrypted.
func widthDrift(t *Table, c idxCol, want int, ev *columnEvidence) *DriftError {
	if ev.values == 0 {
		return nil
	}
	// The most common length, and the widest value of that length.
	common := 0
	for n, k := range ev.lens {
		if k > ev.lens[common] || (k == ev.lens[common] && n > common) {
			common = n
		}
	}
	wrong := ev.wrongLen + ev.tooWide
	widest, n := ev.widest[common], ev.lens[common]
	width := fmt.Sprintf("%d bits wide", widest)
	if n < 16 {
		// Each value of width w has bit w set with probability 1/2: with
		// fewer values, the widest seen may fall short of w.
		width = fmt.Sprintf("at least %d bits wide", widest)
	}
	var msg string
	switch {
	case wrong*2 > ev.values && common != hexLen(want):
		msg = fmt.Sprintf("stored values are %s (%d hex digits), the config says %d bits (%d hex digits)", width, common, want, hexLen(want))
	case wrong*2 > ev.values:
		msg = fmt.Sprintf("stored values are %s, the config says %d", width, want)
	case widest < want && n == ev.values && common == hexLen(want) && n*(want-widest) >= minWidthEvidence:
		wrong = n
		msg = fmt.Sprintf("stored values are %d bits wide (no sampled value has a bit set past bit %d), the config says %d", widest, widest, want)
	default:
		return nil
	}
	return &DriftError{Table: t.Name, Column: c.column, Kind: DriftWidth, Msg: msg, Rows: wrong, Evidence: ev.values, Pos: t.posOf(c.column)}
}

// keysetAbsent reports whether the keyset store holds no keyset id, whose
// class this process holds no KEK for. The keyring refuses such a class
// with ErrNoAccess before it reads the store, so that a role without the
// class cannot tell which tenants have it; the drift check, which runs with
// the store's owners' access, asks the Manager, which reads the store
// first. A class named by the configuration that no keyring has a KEK for
// and no scope has a keyset of (a misspelt class) is thus drift, while a
// class this process merely cannot read gives no evidence.
func keysetAbsent(ctx context.Context, keys crypt.KeySource, id keyring.KeysetID) bool {
	kr, ok := keys.(*keyring.Keyring)
	if !ok {
		return false
	}
	if _, err := kr.KEKURI(id.Class); err == nil {
		return false // the class has a KEK, and it refused: the keyset exists
	}
	_, err := keyring.NewManager(kr).Keys(ctx, id)
	return errors.Is(err, keyring.ErrKeysetNotFound)
}
