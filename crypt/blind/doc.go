// Package blind computes blind indexes: keyed, truncated digests of
// (transformed) field values, stored beside the field's ciphertext so that
// encrypted columns can be queried by equality; and token indexes, sets of
// keyed, truncated tokens that answer prefix, suffix, substring, range and
// set-membership queries. It holds the primitives only (transforms, subkey
// derivation, index and token computation, range covers and the planners);
// package crypt parses struct tags into them and keyring supplies the
// "index" keyset they are keyed from.
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
// # Token indexes
//
// A token index turns one transformed value into a set of int64 tokens,
// stored beside the row (a BIGINT[] column, or a side table of (row,
// token)), and a query into a [Query]: a row is a candidate when its token
// set holds every token of Query.All (if All is not empty) or any token of
// Query.Any. Every row that matches is a candidate (no false negatives);
// some candidates do not match (false positives, from truncation and from
// the coarseness of the tokens), and the caller removes them after
// decryption with the kind's Match function. Only HMAC-SHA-256 under a
// per-index, per-kind subkey is used: no other cipher, and nothing
// order-revealing beyond what is said under Leakage below.
//
// 1. Subkey. Each token index has its own 32-byte subkey per kind
// ([DeriveTokenSubkey]), so that a blind index and a token index of one
// name, or two kinds of one name, never share a key:
//
//	label  = "fieldcrypt token index v1"                  (25 bytes)
//	input  = u32be(len(label)) || label ||
//	         u32be(len(recordType)) || recordType ||
//	         u32be(len(indexName)) || indexName ||
//	         u32be(len(kind)) || kind                     (kind: "prefix", "suffix", "substring", "range" or "set")
//	subkey = PRF(input, 32)
//
// 2. Token. For a message m and a width of Bits (1..64):
//
//	token(m) = int64(u64be(HMAC-SHA-256(subkey, m)[0:8]) with its low 64 − Bits bits set to 0)
//
// read as two's complement, so that it fits a SQL BIGINT. A value's tokens
// are the tokens of its messages, sorted ascending as int64, each once
// (two messages may truncate to one token).
//
// 3. Messages. u64be is an unsigned 64-bit big-endian integer. Runes are
// those of utf8.DecodeRuneInString, so that each byte of invalid UTF-8 is
// one rune, and a string of runes is their bytes in the value, unchanged;
// R is the value's number of runes.
//
//	prefix     'P' (0x50) || u32be(L) || first L runes      for each L in MinLen..min(MaxLen, R)
//	suffix     'S' (0x53) || u32be(L) || last L runes       for each L in MinLen..min(MaxLen, R)
//	substring  'G' (0x47) || u32be(N) || n-gram              for each distinct n-gram (N consecutive runes),
//	                                                         if there are at most MaxTokens of them;
//	           'O' (0x4F) || u32be(N)                        alone (the overflow token) if there are more
//	set        'E' (0x45) || u32be(len(e)) || e              for each distinct element e
//	range      'R' (0x52) || u32be(ℓ) || u64be(o >> (B − ℓ)) for ℓ = 1..B
//
// Every message is a one-byte tag, a 4-byte field and the rest, so that
// within a kind no two (length, string) pairs share a message, and the
// overflow message is no n-gram's. A value shorter than MinLen (prefix,
// suffix) or N (substring) runes has no tokens; no query can match it.
//
// For range, the caller maps its values to int64 (days since an epoch,
// seconds, a decimal times 10^scale) and declares a [RangeDomain] {Min,
// Max, Step}. A value v in [Min, Max] has the offset o = (v − Min) / Step,
// rounded down and computed in uint64 so that it cannot overflow; the
// offsets 0..maxOffset = (Max − Min) / Step are the leaves of a binary tree
// of B = max(1, bits.Len64(maxOffset)) levels (at most 63), and a value's
// tokens are the B nodes on the path from the top of the tree to its leaf:
// level ℓ (1..B) holds o's top ℓ of B bits, and level B is the leaf. A value
// outside the domain is an error ([ErrOutOfDomain]).
//
// 4. Queries. With Q the runes of the query q:
//
//	PrefixQuery(q)     Q >= MinLen; L = min(Q, MaxLen); Any = {token('P' || u32be(L) || first L runes of q)}
//	SuffixQuery(q)     Q >= MinLen; L = min(Q, MaxLen); Any = {token('S' || u32be(L) || last L runes of q)}
//	SubstringQuery(q)  Q >= N; All = the tokens of q's distinct n-grams (none if q has more than
//	                   MaxTokens of them: only overflowed values can hold it); Any = {the overflow token}
//	EqualQuery(v)      Any = {token('E' || u32be(len(v)) || v)}
//	RangeQuery(lo, hi) lo, hi clamped to [Min, Max] (nothing left: the empty Query, no candidates);
//	                   Any = the tokens of RangeCover(lo, hi)
//
// A shorter query is refused ([ErrQueryTooShort]): it has no token that
// every matching value holds. Why every match is a candidate: a value that
// starts with q has q's first L runes as its first L runes, and L is one of
// its lengths; a value that contains q either holds every n-gram of q or
// has overflowed; a value in [lo, hi] has its offset in [olo, ohi], and the
// cover holds every such leaf.
//
// The range cover ([Tokenizer.RangeCover]) of olo = offset(lo) to ohi =
// offset(hi) is the set of maximal tree nodes of levels 1..B whose offsets
// that exist (0..maxOffset) all lie in [olo, ohi]. It is the smallest set of
// nodes that holds exactly those offsets, at most max(2, 2B − 2) of them; a node
// may reach past maxOffset when ohi is maxOffset, and the whole tree
// (level 0, which has no token) is covered by its two halves. With 64-bit
// tokens a range query's candidates are exactly the values whose Step
// bucket meets [lo, hi]; the other values of the bound's buckets are its
// false positives.
//
// 5. Post-filter. [MatchPrefix], [MatchSuffix], [MatchSubstring], [MatchSet]
// and [MatchRange] are the one definition of a match of each kind, on
// transformed plaintext: rune by rune, as the tokens are computed. For valid
// UTF-8 they are strings.HasPrefix, HasSuffix, Contains, equality and
// lo <= v <= hi; with invalid UTF-8, "\xc3" is not a prefix of "é".
//
// In SQL, with the tokens in a PostgreSQL BIGINT[] column under a GIN index:
//
//	WHERE tokens @> $all OR tokens && $any
//
// (omit the first term when All is empty, and match nothing when both are).
//
// Defaults and limits ([TokenSpec]): N is 3 (trigrams, as pg_trgm: bigrams
// are too few to hide anything, and 4-grams refuse queries of 3 runes) and
// MaxTokens 64 (every e-mail address, name or street line keeps its
// trigrams, at most 512 bytes of tokens per row; longer text overflows to
// one token and is a candidate for every substring query). Bits, MinLen,
// MaxLen and the domain have no default: they trade leakage for false
// positives and depend on the data. MinLen and MaxLen are at most 64 runes,
// N 2..8, MaxTokens at most 1024, and a domain at most 63 levels.
//
// # Token index planner
//
// A token that stands for a single short string names it: a substring
// index whose trigram tokens are nearly unique spells out each row's
// trigrams, which is nearly its value. [CheckSubstring] (and [CheckTokens]
// for a whole spec and its transforms) refuses such widths. With A the
// size of the alphabet, estimated as 40 when the transforms fold case
// (lower, upper, emaildomain), 10 after digits and 96 otherwise, there are
// at most A^N n-grams, and a token of b bits leaves fewer than about 4 of
// them per token value when b > floor(N × log2 A) − 2. So the widest
// substring index ([RecommendSubstringBits], also the recommended width, as
// every narrower one adds false positives) is 13 bits for case-folded
// trigrams and 17 bits otherwise. [CheckPrefix] applies the same rule to
// prefix and suffix indexes at their shortest length, MinLen (a prefix of
// L runes has at most A^L values; longer ones have more): a MinLen of 1 or
// 2 allows only 3 to 8 bits (for all lengths, as one width serves them all),
// so prefer MinLen 3 or more. The rule is a ceiling on what one token says,
// not a proof of privacy: the n-grams and prefixes that occur are far fewer
// than A^N and very skewed, so frequency analysis still applies (see
// below). Size a set index as a blind index, with [Recommend] over its
// distinct elements.
//
// Leakage of token indexes. Someone who reads the token column learns, per
// kind: set, which rows share an element, as a blind index does; prefix
// and suffix, which rows share a prefix (suffix) of each length, and from
// the number of tokens each row's length in runes up to MaxLen; substring,
// which rows share n-grams, each row's number of distinct n-grams (about
// its length), and which rows overflowed (long values); range, for every
// level, which rows lie in the same block of 2^(B−ℓ) buckets, that is which
// values are close, and so, with a known distribution or one known value,
// roughly where others lie (the top level splits the domain in halves).
// The range index does not reveal which block is lower, but its structure
// is not hidden by truncation: choose the coarsest Step that serves the
// queries. Someone who also watches queries learns which rows each one
// finds. Truncation, the planner and the post-filter bound what one token
// says; they do not stop statistical inference over a large table.
//
// # Errors
//
// Misconfiguration is reported by typed errors that name what was wrong:
// [*TransformError], [*BitsError], [*SubkeyError], [*SlowParamsError],
// [*TokenSpecError] and [*TokenLeakageError]. A value or query that a token
// index cannot take is a [*TokenError] wrapping [ErrOutOfDomain],
// [ErrQueryTooShort], [ErrWrongKind] or [ErrValueTooLong]; it names the
// bound or the minimum length, never the value or the query. No error,
// String method or panic of this package contains a value being indexed, a
// query or key material.
//
// # Compatibility
//
// The constructions above are version 1, named by their labels ("fieldcrypt
// blind index v1", "fieldcrypt token index v1"). Any change to them, to a
// transform's output, to truncation, to a token message or to how runes are
// split changes stored index values and tokens, and so is a new label and a
// migration. The golden vectors in testdata (vectors.json, transforms.json,
// tokens.json) freeze them. lower, upper, nfkc and digits follow the Unicode tables of the Go
// release and of golang.org/x/text: Unicode's stability policies keep the
// normalization of assigned characters fixed, but an upgrade can change the
// output for characters that were unassigned before, so values containing
// them may need re-indexing after a Unicode upgrade.
package blind
