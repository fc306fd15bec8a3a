package reencrypt

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// fingerprintVersion starts the encoding that Fingerprint hashes; a change
// of the encoding changes it.
const fingerprintVersion = "fieldcrypt table fingerprint v2"

// Fingerprint returns the SHA-256, in lower-case hex, of a canonical
// encoding of what the table's description decides about the values the
// job writes: its primary key and key type, and its SchemaSpec with every
// default resolved. A job stores the fingerprint of the description it
// started with, and a resumed job whose description has another is
// refused ([ErrJobChanged]).
//
// The encoding is a sequence of items: a string is its length as a 4-byte
// big-endian integer, then its UTF-8 bytes; an integer is 8 bytes
// big-endian; a boolean is one byte, 0 or 1; a list is its length (4
// bytes) then its items. In order:
//
//	"fieldcrypt table fingerprint v2"
//	primary_key, key_type (default integer)
//	record, scope, unbound
//	ids, in order: column, name (default the column)
//	encrypted, sorted by column: column, name (default the column),
//	    class (default "default"), binary
//	indexes, sorted by column: column, name (default the column),
//	    sources (in order), transforms, bits (population's width when
//	    bits is 0), slow, class (default the first source's class),
//	    rebuilt (listed in rebuild_indexes)
//	then, only for a table with token indexes (so that the fingerprint of
//	a table without any is what it was before they existed):
//	"tokens", and the token indexes sorted by name: name, kind, sources
//	    (in order), transforms, bits, min_len, max_len, n, max_tokens,
//	    type, min, max, step, scale, precision, class (default the
//	    sources' class), side table (TokenTable), rebuilt; the
//	    parameters as written (a default width is not resolved)
//
// Defaults are resolved and the order of encrypted and index columns does
// not count, so that two descriptions of the same values have one
// fingerprint whichever way they are written. The table's name is not
// part of it (the job row names its table already).
func (t *Table) Fingerprint() string {
	var b []byte
	str := func(s string) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	num := func(n int) { b = binary.BigEndian.AppendUint64(b, uint64(n)) }
	flag := func(v bool) {
		if v {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	count := func(n int) { b = binary.BigEndian.AppendUint32(b, uint32(n)) }

	str(fingerprintVersion)
	str(t.PrimaryKey)
	str(string(t.keyType()))
	str(t.Record)
	str(t.Scope)
	flag(t.Unbound)
	count(len(t.IDs))
	for _, id := range t.IDs {
		str(id.Column)
		str(cmp.Or(id.Name, id.Column))
	}
	fields := slices.SortedFunc(slices.Values(t.Fields), func(a, b crypt.FieldSpec) int { return cmp.Compare(a.Column, b.Column) })
	count(len(fields))
	for _, f := range fields {
		str(f.Column)
		str(cmp.Or(f.Name, f.Column))
		str(f.DataClass())
		flag(f.Binary)
	}
	indexes := slices.SortedFunc(slices.Values(t.Indexes), func(a, b crypt.IndexSpec) int { return cmp.Compare(a.Column, b.Column) })
	count(len(indexes))
	for _, ix := range indexes {
		str(ix.Column)
		str(cmp.Or(ix.Name, ix.Column))
		count(len(ix.Sources))
		for _, s := range ix.Sources {
			str(s)
		}
		str(ix.Transforms)
		num(configuredBits(ix))
		flag(ix.Slow)
		str(t.IndexClass(ix))
		flag(slices.Contains(t.RebuildIndexes, ix.Column))
	}
	if len(t.Tokens) > 0 {
		str("tokens")
		tokens := slices.SortedFunc(slices.Values(t.Tokens), func(a, b crypt.TokenIndexSpec) int { return cmp.Compare(a.Name, b.Name) })
		count(len(tokens))
		for _, tk := range tokens {
			str(tk.Name)
			str(string(tk.Kind))
			count(len(tk.Sources))
			for _, s := range tk.Sources {
				str(s)
			}
			str(tk.Transforms)
			for _, n := range []int{tk.Bits, tk.MinLen, tk.MaxLen, tk.N, tk.MaxTokens} {
				num(n)
			}
			str(tk.Type)
			str(tk.Min)
			str(tk.Max)
			num(int(tk.Step))
			num(tk.Scale)
			str(tk.Precision)
			str(t.TokenClass(tk))
			str(t.TokenTable(tk.Name))
			flag(slices.Contains(t.RebuildIndexes, tk.Name))
		}
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
