package reencrypt

import (
	"context"
	"reflect"
	"strconv"
	"strings"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// indexProbe computes a row's blind-index values under every enabled index
// key, to tell an index under an old key (stale: rewrite it) from one that
// matches no key (a configuration that disagrees with the application, or
// damage: leave the row alone). crypt.Encryptor.BlindIndexValues does this
// for tagged structs, so the probe builds, once per table, a struct type
// with the tags of the table's record: its record type, scope, the
// indexes' source fields and the indexes.
type indexProbe struct {
	typ     reflect.Type
	scope   int            // field of the scope; -1 when none
	sources map[string]int // source column → field
	binary  map[string]bool
	names   []string // per layout.idx: the index's name
}

func newIndexProbe(t *Table) (*indexProbe, error) {
	p := &indexProbe{scope: -1, sources: map[string]int{}, binary: map[string]bool{}}
	fields := []reflect.StructField{{
		Name:    "_",
		PkgPath: reflect.TypeFor[indexProbe]().PkgPath(),
		Type:    reflect.TypeFor[struct{}](),
		Tag:     reflect.StructTag(`crypt:"record=` + t.Record + `"`),
	}}
	add := func(typ reflect.Type, tag string) int {
		fields = append(fields, reflect.StructField{Name: "F" + strconv.Itoa(len(fields)), Type: typ, Tag: reflect.StructTag(`crypt:"` + tag + `"`)})
		return len(fields) - 1
	}
	if t.Scope != "" {
		p.scope = add(reflect.TypeFor[string](), "scope")
	}
	for _, f := range t.Encrypted {
		used := false
		for _, ix := range t.Indexes {
			used = used || contains(ix.Sources, f.Column)
		}
		if !used {
			continue
		}
		typ := reflect.TypeFor[*string]()
		if f.Binary {
			typ = reflect.TypeFor[*[]byte]()
		}
		tag := "encrypt,name=" + cmpOr(f.Name, f.Column)
		if f.Class != "" {
			tag += ",class=" + f.Class
		}
		p.sources[f.Column] = add(typ, tag)
		p.binary[f.Column] = f.Binary
	}
	for _, ix := range t.Indexes {
		var srcs []string
		for _, s := range ix.Sources {
			srcs = append(srcs, fields[p.sources[s]].Name)
		}
		name := cmpOr(ix.Name, ix.Column)
		tag := "blind=" + strings.Join(srcs, "+") + ",name=" + name
		if ix.Transforms != "" {
			tag += ",transform=" + ix.Transforms
		}
		if ix.Bits != 0 {
			tag += ",bits=" + strconv.Itoa(ix.Bits)
		}
		if ix.Slow {
			tag += ",slow"
		}
		if ix.Class != "" {
			tag += ",class=" + ix.Class
		}
		add(reflect.TypeFor[string](), tag)
		p.names = append(p.names, name)
	}
	p.typ = reflect.StructOf(fields)
	if err := crypt.Validate(reflect.New(p.typ).Interface()); err != nil {
		return nil, &ConfigError{Table: t.Name, Msg: "blind indexes: " + err.Error()}
	}
	return p, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// values returns the values of the i-th index of the decrypted row under
// every enabled index key, the primary's first.
func (p *indexProbe) values(ctx context.Context, enc *crypt.Encryptor, scope string, row crypt.Row, i int) ([]string, error) {
	v := reflect.New(p.typ)
	e := v.Elem()
	if p.scope >= 0 {
		e.Field(p.scope).SetString(scope)
	}
	for col, f := range p.sources {
		switch x := row[col].(type) {
		case string:
			e.Field(f).Set(reflect.ValueOf(&x))
		case []byte:
			e.Field(f).Set(reflect.ValueOf(&x))
		}
	}
	return enc.BlindIndexValues(ctx, v.Interface(), p.names[i])
}
