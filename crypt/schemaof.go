package crypt

import (
	"fmt"
	"reflect"
	"strings"
	"unicode"
)

// SchemaOf returns the SchemaSpec of the tagged struct type of v (a struct
// or a pointer to one): the description of its table that NewSchema
// compiles to the plan Encrypt uses for the struct. The re-encryption job
// and `fieldcrypt schema` take their table descriptions from it, so no one
// copies a struct's tags into a configuration by hand.
//
// Each field's column is its db tag (as pgx and sqlx read it), else its
// gorm column: tag, else the snake_case of its Go name as GORM's default
// naming strategy spells it ("TenantID" is tenant_id, "EmailIdx" is
// email_idx). Embedded structs promote their columns; a named struct field
// does too when tagged gorm:"embedded" (with its embeddedPrefix). Indexes
// state both the width the planner settled (Bits) and the declared
// population, so that the job computes exactly the struct's indexes even if
// a later planner would pick another width.
//
// A record whose encrypted fields live in a slice, or in a nested struct
// with no columns of its own, is stored in a way no column-wise description
// covers (a JSON column, a child table); SchemaOf refuses it with a
// *PlanError naming the field.
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
			is.Sources = append(is.Sources, sc)
		}
		spec.Indexes = append(spec.Indexes, is)
	}
	return spec, nil
}

// unless returns name, or "" when it is the column's own name (the
// SchemaSpec default).
func unless(name, column string) string {
	if name == column {
		return ""
	}
	return name
}

// columnAt returns the column of the field at index within struct type t.
func columnAt(t reflect.Type, index []int) (string, error) {
	prefix := ""
	for i, x := range index {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		f := t.Field(x)
		if i == len(index)-1 {
			c, ok := ColumnOf(f)
			if !ok {
				return "", &PlanError{Type: t, Field: f.Name, Msg: "its column is ignored (db:\"-\" or gorm:\"-\"), so its value is never stored"}
			}
			return prefix + c, nil
		}
		gorm := gormSettings(f.Tag.Get("gorm"))
		_, embedded := gorm["EMBEDDED"]
		switch {
		case f.Anonymous && f.Tag.Get("db") == "":
		case embedded:
			prefix += gorm["EMBEDDEDPREFIX"]
		default:
			return "", &PlanError{Type: t, Field: f.Name, Msg: "a nested struct holding tagged fields has no columns of its own: embed it, or tag it gorm:\"embedded\" (with embeddedPrefix), so that its fields are columns of the table"}
		}
		t = f.Type
	}
	return "", fmt.Errorf("crypt: empty field index") // unreachable: plans locate fields by non-empty indexes
}

// ColumnOf returns the database column of struct field f as SchemaOf names
// it: the name in its db tag, else its gorm column: setting, else the
// snake_case of its Go name as GORM's default naming strategy spells it.
// ok is false for a field either tag marks "-" (not stored).
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
	gorm := f.Tag.Get("gorm")
	if gorm == "-" || strings.HasPrefix(gorm, "-:") {
		return "", false
	}
	if c := gormSettings(gorm)["COLUMN"]; c != "" {
		return c, true
	}
	return snakeCase(f.Name), true
}

// gormSettings parses a gorm tag ("column:email;embedded") into its
// settings, keys upper-cased as GORM reads them.
func gormSettings(tag string) map[string]string {
	out := map[string]string{}
	for part := range strings.SplitSeq(tag, ";") {
		k, v, _ := strings.Cut(part, ":")
		if k = strings.ToUpper(strings.TrimSpace(k)); k != "" {
			out[k] = v
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
