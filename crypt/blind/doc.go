// Package blind computes blind indexes: keyed, truncated digests of
// (transformed) field values, stored beside the field's ciphertext so that
// encrypted columns can be queried by equality. It holds the primitives only
// (transforms, subkey derivation, index computation and a bit-length
// planner); package crypt parses struct tags into them and keyring supplies
// the "index" keyset they are keyed from.
//
// # Construction
//
// All integers are unsigned 32-bit big-endian (u32be); || is concatenation;
// strings are their UTF-8 bytes as given, with no terminator.
//
// 1. Subkey. Each index has its own 32-byte subkey, derived with a key of the
// scope's "index" keyset (a Tink PRF set of HMAC-SHA-256 PRF keys) by
// [DeriveSubkey]:
//
//	label  = "fieldcrypt blind index v1"                  (25 bytes)
//	input  = u32be(len(label)) || label ||
//	         u32be(len(recordType)) || recordType ||
//	         u32be(len(indexName)) || indexName
//	subkey = PRF(input, 32)      (for Tink's HMAC PRF: HMAC-SHA-256(prfKey, input))
//
// Equal values in two indexes, of one record type or of two, therefore do
// not correlate, and a key rotation of the keyset changes every subkey.
//
// 2. Message. The index's values (one for a simple index, one per field for a
// compound index, each after its transforms) are encoded in order:
//
//	message = u32be(len(v1)) || v1 || u32be(len(v2)) || v2 || ...
//
// so that ("ab", "c") and ("a", "bc") differ. A value may be at most
// [MaxValueLen] bytes.
//
// 3. Digest, by tier:
//
//	fast: d = HMAC-SHA-256(subkey, message)                                  (32 bytes)
//	slow: d = Argon2id(password = message, salt = subkey,
//	                   time = Time, memory = MemoryKiB, threads = Threads, keyLen = 32)
//
// 4. Truncation to bits (1..256): keep the first n = ceil(bits/8) bytes of d
// and set the low 8n − bits bits of the last kept byte to 0. The stored index
// value is those n bytes ([Indexer.Sum]) or their lower-case hex, 2n
// characters ([Indexer.AppendHex]). For example, bits = 12 keeps d[0] and
// d[1] & 0xF0.
//
// # Transforms
//
// A transform spec is a '+'-separated list of names, applied left to right;
// the empty spec applies none. Spec grammar:
//
//	spec      = "" | transform *( "+" transform )
//	transform = "lower" | "upper" | "trim" | "nfkc" | "collapse" | "digits"
//	          | "emaildomain" | "emaillocal" | "last" N | "first" N
//	N         = a decimal number from 1 to 65536, no leading zero
//
// The transforms:
//
//	lower        Unicode lower case (strings.ToLower): language-neutral, so
//	             Turkish "İ" and "I" both become "i"
//	upper        Unicode upper case (strings.ToUpper)
//	trim         removes Unicode white space at both ends (strings.TrimSpace)
//	nfkc         Unicode normalization form KC: compatibility forms fold, so
//	             "ＡＢＣ" becomes "ABC" and "e" + U+0301 becomes "é"
//	collapse     replaces each run of Unicode white space with one ASCII space
//	             (it does not trim; write "collapse+trim")
//	digits       keeps the decimal digits (category Nd) of any script, as the
//	             ASCII digits of the same value, and drops everything else:
//	             "+1 (555) 010-9999" becomes "15550109999", "٤٢" becomes "42".
//	             Other numerals ("²", "Ⅻ") are dropped; put "nfkc" first to
//	             fold "²" into "2"
//	last<N>      the last N runes (code points) of the value so far, or all of
//	             it if shorter: "last4" of "15550109999" is "9999"
//	first<N>     the first N runes
//	emaildomain  the part after the last '@', lower-cased; with no '@', the
//	             whole value lower-cased, so that a bare domain can be
//	             queried: "Alice@Example.COM" and "example.com" both give
//	             "example.com"
//	emaillocal   the part before the last '@', case kept (local parts may be
//	             case-sensitive; add "lower" if yours are not); with no '@',
//	             the whole value
//
// Transforms are pure and deterministic; the same spec must be applied to a
// stored value and to a query value. Bytes that are not valid UTF-8 are kept
// as they are by trim, collapse, first/last (one rune each), emaillocal and
// nfkc, replaced by U+FFFD by lower, upper and emaildomain, and dropped by
// digits.
//
// # Tiers
//
// The fast tier (HMAC-SHA-256) costs a few hundred nanoseconds per value
// and, through [Indexer.AppendHex], allocates nothing: it suits fields with
// many possible values, such as e-mail addresses. Build one [Indexer] per
// index and key and keep it; during a key rotation a query computes its value
// under each enabled key of the index keyset, one Indexer each. The slow tier (Argon2id,
// [DefaultSlowParams] by default: 19 MiB, 2 passes, 1 lane, the OWASP
// minimum) costs tens of milliseconds and MemoryKiB of memory per value and
// per query, so that someone who obtains the index keyset, but not the data
// keys, pays that per guess when trying every value of a low-entropy field
// (a date of birth, a national ID). It does not help against someone who
// only reads the database; truncation and the planner do that.
//
// # Planner
//
// [Recommend], [RecommendAdditional], [Check] and [CheckCombined] size an
// index from the number X of distinct values of the (transformed) field,
// following CipherSweet's blind-index planner and the AWS Database Encryption
// SDK's beacon-length guide: keep √X <= 2^bits <= X/2, so that each index
// value stands for between 2 and √X distinct values. Several indexes over one
// field add up, since an attacker can intersect them.
//
// # Leakage
//
// A blind index is deterministic. Anyone who can read the index column
// learns which rows have equal index values, hence (up to the false
// positives that truncation adds) which have equal field values, and how
// often each value occurs: frequency analysis against a known distribution
// (surnames, cities) can then guess values. Someone who can insert chosen
// values, or watch queries, learns which rows match them. Truncation bounds
// this by making each index value stand for several plaintexts; the planner
// picks that number. The index reveals nothing to anyone without the subkey
// beyond equality and frequency, and nothing at all about fields it does not
// cover. Queries must filter out the false positives by decrypting the
// candidate rows.
//
// # Errors
//
// Misconfiguration is reported by typed errors that name what was wrong:
// [*TransformError], [*BitsError], [*SubkeyError], [*SlowParamsError]. No
// error, String method or panic of this package contains a value being
// indexed or key material.
//
// # Compatibility
//
// The construction above is version 1, named by the label. Any change to it,
// to a transform's output, or to truncation changes stored index values, and
// so is a new label and a migration. The golden vectors in testdata freeze
// it. lower, upper, nfkc and digits follow the Unicode tables of the Go
// release and of golang.org/x/text: Unicode's stability policies keep the
// normalization of assigned characters fixed, but an upgrade can change the
// output for characters that were unassigned before, so values containing
// them may need re-indexing after a Unicode upgrade.
package blind
