package crypt

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode"

	"github.com/fieldcrypt/fieldcrypt/crypt/blind"
)

// SchemaOf returns the SchemaSpec of the tagged struct type of v (a struct
// or a pointer to one): the description of its table that NewSchema
// compiles to the plan Encrypt uses for the struct. The re-encryption job
// and `fieldcrypt schema` take their table descriptions from it, so no one
// copies a struct's tags into a configuration by hand.
//
// Each field's column is named as ColumnOf names it: its db tag (as pgx and
// sqlx read it), else its gorm column: setting, else the snake_case of its
// Go name as GORM's default naming strategy spells it ("TenantID" is
// tenant_id, "EmailIdx" is email_idx). Without db tags SchemaOf follows
// GORM's naming. pgx's RowToStructByName agrees for such columns: it
// matches a field without a db tag to a column whose name, underscores
// removed, equals the field's case-insensitively ("EmailIdx" reads
// email_idx, and emailidx too). sqlx lower-cases the name ("emailidx"), so
// sqlx users should give every stored field a db tag.
//
// Structs are flattened as GORM flattens them. An anonymous embedded
// struct promotes its columns, and a named struct field does too when
// tagged gorm:"embedded"; either applies its gorm embeddedPrefix to the
// columns it promotes. A field GORM never reads or writes has no column: one
// tagged db:"-", gorm:"-" or gorm:"-:all" (in any position of the tag), and
// every field of an unexported embedded struct type, which GORM skips as it
// skips every unexported field. gorm:"-:migration" only keeps the column out
// of migrations; the field is stored.
//
// Indexes state both the width the planner settled (Bits) and the declared
// population, so that the job computes exactly the struct's indexes even if
// a later planner would pick another width.
//
// A record that a column-wise description cannot cover is refused with a
// *PlanError naming the field, rather than described without it: encrypted
// fields in a slice, or in a nested struct with no columns of its own (a
// JSON column, a child table); a tagged field that has no column as above;
// and a blind index over a source field that is not encrypted, since the
// job, which rewrites encrypted columns, cannot maintain an index over a
// plaintext column.
func SchemaOf(v any) (SchemaSpec, error) {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return SchemaSpec{}, &InvalidArgumentError{Type: reflect.TypeOf(v)}
	}
	p, err := planFor(t)
	if err != nil {
		return SchemaSpec{}, err
	}
	if len(p.root.slices) > 0 {
		sl := p.root.slices[0]
		return SchemaSpec{}, &PlanError{Type: t, Field: strings.TrimSuffix(sl.path, "[]."),
			Msg: "its elements' encrypted fields have no column of their own (a slice is stored as a child table or a JSON column); describe such tables by hand"}
	}
	spec := SchemaSpec{Record: p.record, Unbound: p.unbound}
	col := func(index []int) (string, error) { return columnAt(t, index) }
	if p.scope != nil {
		if spec.Scope, err = col(p.scope.index); err != nil {
			return SchemaSpec{}, err
		}
	}
	for _, id := range p.ids {
		c, err := col(id.index)
		if err != nil {
			return SchemaSpec{}, err
		}
		spec.IDs = append(spec.IDs, ColumnName{Column: c, Name: unless(id.name, c)})
	}
	for _, f := range p.root.fields {
		c, err := col(f.index)
		if err != nil {
			return SchemaSpec{}, err
		}
		spec.Fields = append(spec.Fields, FieldSpec{Column: c, Name: unless(f.path, c), Class: f.class,
			Binary: f.kind == kindBytes || f.kind == kindBytesPtr})
	}
	for _, ix := range p.root.indexes {
		c, err := col(ix.index)
		if err != nil {
			return SchemaSpec{}, err
		}
		is := IndexSpec{Column: c, Name: unless(ix.name, c), Transforms: ix.spelled, Bits: ix.bits,
			Population: ix.population, Slow: ix.slow, Class: ix.class}
		for _, src := range ix.sources {
			sc, err := col(src.index)
			if err != nil {
				return SchemaSpec{}, err
			}
			if !slices.ContainsFunc(p.root.fields, func(f encField) bool { return slices.Equal(f.index, src.index) }) {
				// NewSchema accepts only encrypted source columns: the
				// job decrypts a row's sources to recompute its indexes.
				return SchemaSpec{}, &PlanError{Type: t, Field: ix.path, Msg: fmt.Sprintf(
					"blind index over %s (column %s), which is not encrypted: a column-wise description such as the re-encryption job's cannot maintain a blind index over a plaintext column; encrypt %s, or keep this record out of the job's tables",
					fieldPath(t, src.index), sc, fieldPath(t, src.index))}
			}
			is.Sources = append(is.Sources, sc)
		}
		spec.Indexes = append(spec.Indexes, is)
	}
	for _, tf := range p.root.tokens {
		ts, err := tokenIndexSpec(t, p, &tf, col)
		if err != nil {
			return SchemaSpec{}, err
		}
		spec.Tokens = append(spec.Tokens, ts)
	}
	return spec, nil
}

// tokenIndexSpec describes the token index tf of struct type t, whose plan
// is p, with its sources as columns and every parameter as the planner
// settled it, so that the schema computes exactly the struct's tokens.
func tokenIndexSpec(t reflect.Type, p *plan, tf *tokenField, col func([]int) (string, error)) (TokenIndexSpec, error) {
	sp := tf.spec
	ts := TokenIndexSpec{Name: tf.name, Kind: sp.Kind, Transforms: tf.spelled, Bits: sp.Bits,
		MinLen: sp.MinLen, MaxLen: sp.MaxLen, N: sp.N, MaxTokens: sp.MaxTokens, Class: tf.class}
	if sp.Kind == blind.TokenRange {
		ts.Type, ts.Min, ts.Max, ts.Scale, ts.Precision = tf.rng.typ, tf.rangeMin, tf.rangeMax, tf.rng.scale, tf.rng.precision
		if ts.Precision == "" {
			ts.Step = sp.Domain.Step
		}
	}
	for _, src := range tf.sources {
		if src.elem != nil {
			return TokenIndexSpec{}, &PlanError{Type: t, Field: tf.path, Msg: fmt.Sprintf(
				"token index over %s, a field of slice elements, which have no column of their own; describe such tables by hand", src.path)}
		}
		sc, err := col(src.index)
		if err != nil {
			return TokenIndexSpec{}, err
		}
		if !slices.ContainsFunc(p.root.fields, func(f encField) bool { return slices.Equal(f.index, src.index) }) {
			return TokenIndexSpec{}, &PlanError{Type: t, Field: tf.path, Msg: fmt.Sprintf(
				"token index over %s (column %s), which is not encrypted: a column-wise description such as the re-encryption job's cannot maintain a token index over a plaintext column; encrypt %s, or keep this record out of the job's tables",
				fieldPath(t, src.index), sc, fieldPath(t, src.index))}
		}
		ts.Sources = append(ts.Sources, sc)
	}
	return ts, nil
}

// unless returns name, or "" when it is the column's own name (the
// SchemaSpec default).
func unless(name, column string) string {
	if name == column {
		return ""
	}
	return name
}

// columnAt returns the column of the field at index within struct type t,
// as GORM flattens embedded structs into columns.
func columnAt(t reflect.Type, index []int) (string, error) {
	root, prefix := t, ""
	for i, x := range index {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		f := t.Field(x)
		if i == len(index)-1 {
			c, ok := ColumnOf(f)
			if !ok {
				return "", &PlanError{Type: t, Field: f.Name, Msg: "its column is ignored (db:\"-\", gorm:\"-\" or gorm:\"-:all\"), so its value is never stored"}
			}
			return prefix + c, nil
		}
		gorm := gormSettings(f.Tag.Get("gorm"))
		_, embedded := gorm["EMBEDDED"]
		db, _, _ := strings.Cut(f.Tag.Get("db"), ",")
		switch {
		case f.Anonymous && !f.IsExported():
			return "", &PlanError{Type: t, Field: f.Name, Msg: fmt.Sprintf(
				"it holds %s, but GORM never stores the fields of an unexported embedded struct (it skips unexported fields): export the embedded type, or make it a named field tagged gorm:\"embedded\"",
				fieldPath(root, index))}
		case db == "-" || gormIgnored(gorm):
			return "", &PlanError{Type: t, Field: f.Name, Msg: fmt.Sprintf(
				"it holds %s, but it is ignored (db:\"-\", gorm:\"-\" or gorm:\"-:all\"), so its fields are never stored", fieldPath(root, index))}
		case embedded || f.Anonymous && db == "":
			// GORM applies embeddedPrefix to anonymous embedded structs
			// as well as to fields tagged embedded.
			prefix += gorm["EMBEDDEDPREFIX"]
		default:
			return "", &PlanError{Type: t, Field: f.Name, Msg: "a nested struct holding tagged fields has no columns of its own: embed it, or tag it gorm:\"embedded\" (with embeddedPrefix), so that its fields are columns of the table"}
		}
		t = f.Type
	}
	return "", fmt.Errorf("crypt: empty field index") // unreachable: plans locate fields by non-empty indexes
}

// fieldPath spells the field at index within struct type t as a Go
// selector, embedded structs included ("Billing.Zip", "audit.CreatedBy").
func fieldPath(t reflect.Type, index []int) string {
	var names []string
	for _, x := range index {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		f := t.Field(x)
		names = append(names, f.Name)
		t = f.Type
	}
	return strings.Join(names, ".")
}

// ColumnOf returns the database column of struct field f as SchemaOf names
// it: the name in its db tag, else its gorm column: setting, else the
// snake_case of its Go name as GORM's default naming strategy spells it. It
// names the field alone: the prefix of an embedding struct is SchemaOf's to
// add. ok is false for a field its data layer never stores: one tagged
// db:"-" (pgx, sqlx), or whose gorm tag holds the setting - or -:all in any
// position (gorm:"column:x;-" is ignored too, as GORM reads it);
// gorm:"-:migration" only keeps the column out of GORM's migrations, so such
// a field has its column.
func ColumnOf(f reflect.StructField) (column string, ok bool) {
	if db, has := f.Tag.Lookup("db"); has {
		name, _, _ := strings.Cut(db, ",")
		switch name {
		case "-":
			return "", false
		case "":
		default:
			return name, true
		}
	}
	gorm := gormSettings(f.Tag.Get("gorm"))
	if gormIgnored(gorm) {
		return "", false
	}
	if c := gorm["COLUMN"]; c != "" {
		return c, true
	}
	return snakeCase(f.Name), true
}

// gormIgnored reports whether gorm settings make GORM neither read nor write
// a field: the setting "-" alone or as "-:all" ("-:migration" only skips
// migrations), as GORM's field parser decides.
func gormIgnored(settings map[string]string) bool {
	v, ok := settings["-"]
	if !ok {
		return false
	}
	v = strings.ToLower(strings.TrimSpace(v))
	return v == "-" || v == "all"
}

// gormSettings parses a gorm tag ("column:email;embedded") into its
// settings as GORM's ParseTagSetting does: keys upper-cased and trimmed, a
// key without a value maps to itself, and a separator escaped with a
// backslash ("default:a\;b") stays in the value.
func gormSettings(tag string) map[string]string {
	out := map[string]string{}
	parts := strings.Split(tag, ";")
	for i := 0; i < len(parts); i++ {
		part := parts[i]
		for strings.HasSuffix(part, "\\") && i+1 < len(parts) {
			i++
			part = part[:len(part)-1] + ";" + parts[i]
		}
		k, v, has := strings.Cut(part, ":")
		k = strings.TrimSpace(strings.ToUpper(k))
		switch {
		case has:
			out[k] = v
		case k != "":
			out[k] = k
		}
	}
	return out
}

// commonInitialisms are the words GORM's naming strategy keeps whole, so
// that "TenantID" becomes tenant_id rather than tenant_i_d.
var commonInitialisms = strings.NewReplacer(initialismPairs()...)

func initialismPairs() []string {
	var pairs []string
	for _, w := range []string{"API", "ASCII", "CPU", "CSS", "DNS", "EOF", "GUID", "HTML", "HTTP", "HTTPS", "ID", "IP", "JSON", "LHS",
		"QPS", "RAM", "RHS", "RPC", "SLA", "SMTP", "SSH", "TLS", "TTL", "UID", "UI", "UUID", "URI", "URL", "UTF8", "VM", "XML", "XSRF", "XSS"} {
		pairs = append(pairs, w, w[:1]+strings.ToLower(w[1:]))
	}
	return pairs
}

// snakeCase spells a Go field name as GORM's default naming strategy does:
// initialisms become words, and an underscore goes before each upper-case
// letter that starts a word.
func snakeCase(name string) string {
	r := []rune(commonInitialisms.Replace(name))
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) {
			prevLower := i > 0 && (unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1]))
			nextLower := i+1 < len(r) && unicode.IsLower(r[i+1])
			if i > 0 && r[i-1] != '_' && (prevLower || (unicode.IsUpper(r[i-1]) && nextLower)) {
				b.WriteByte('_')
			}
			c = unicode.ToLower(c)
		}
		b.WriteRune(c)
	}
	return b.String()
}
