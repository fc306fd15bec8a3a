package main

// Blind-index planning. The widths in Contact's tags come from
// blind.Recommend for the populations below; TestIndexWidths fails if a tag
// and its plan drift apart.
//
// The population that counts is one tenant's: index keys belong to the
// tenant's keysets (scope = tenant), so two tenants' index values are
// computed under unrelated keys and never coincide on purpose. For the same
// reason neither index is compounded with the tenant ID: the key already is
// per tenant, and adding the tenant to the message would add nothing.
const (
	// plannedContactsPerTenant is the e-mail index's planning population:
	// a large tenant of this CRM, about as many distinct e-mail addresses.
	// blind.Recommend(50_000) keeps between 8 and 14 bits and recommends 11,
	// the middle, leaning towards leaking less: about 24 distinct addresses
	// share each index value. A lookup at that size reads about 24 rows,
	// decrypts them and keeps the one that matches; an attacker holding the
	// table sees only which contacts fall into the same one of 2,048
	// buckets. A tenant ten times larger should move to 12 or 13 bits (an
	// index-key rotation rewrites the column); a small tenant gets fewer
	// collisions and its index values nearly identify its addresses, which
	// tells an attacker who holds the table which rows share an address,
	// but not the address: testing a guess needs the tenant's index key.
	plannedContactsPerTenant = 50_000
	emailIndexBits           = 11

	// phoneLast4Values is the population of the phone index: the last four
	// digits take at most 10,000 values, however large the tenant.
	// blind.Recommend(10_000) keeps between 7 and 12 bits and recommends 9:
	// about 20 last-4 values share each of 512 index values, so a query in
	// a tenant of 50,000 contacts (5 per last-4 value) reads about 100 rows
	// and keeps the 5 that match.
	//
	// Leakage: 10,000 values are few, so the index is deliberately coarse.
	// What the table shows an attacker is which contacts share one of 512
	// buckets; the digits themselves need the index key. The slow
	// (Argon2id) tier is not used: it only matters once the index key has
	// leaked, and 10,000 guesses are cheap even at Argon2id speed. The two
	// indexes of a row (e-mail and phone) read different fields under
	// different subkeys, so they do not combine into a finer index of one
	// field (blind.CheckCombined's concern), though together they make rows
	// easier to tell apart.
	phoneLast4Values    = 10_000
	phoneLast4IndexBits = 9
)

// The transforms of the two indexes, as in Contact's tags (TestIndexWidths
// checks them). A lookup's false positives are dropped by comparing the
// decrypted rows through the same transforms (gormcrypt.Matching, with
// crypt.Matches), so "equal" means the same to the index and the filter.
const (
	emailTransforms      = "lower+trim"
	phoneLast4Transforms = "digits+last4"
)

// The token indexes of Contact (model.go).
//
// NamePrefix (prefix=Name,len=3..10,bits=12): a row holds one token per
// prefix of its lower-cased, trimmed name from 3 to 10 letters. 12 bits is
// under the ceiling blind.CheckPrefix sets for 3-letter prefixes of
// case-folded text (13 bits: about 64,000 possible prefixes share 4,096
// tokens, so a token does not name its prefix), and a lookup of "ada" in a
// tenant of 50,000 contacts reads the contacts whose names start with
// "ada" plus about 12 others per token (50,000 / 4,096), which the plugin
// drops after decrypting. Shorter queries are refused (400): a 1- or
// 2-letter prefix would need tokens that nearly name it. What an attacker
// holding the tables learns: which contacts share their first 3 to 10
// letters (up to the token collisions), and from a contact's token count,
// the length of a name shorter than 10 letters (docs/SECURITY.md).
//
// BirthdayRange (range=Birthday,type=date,min=1900-01-01,max=2099-12-31):
// one token per level of a 17-level dyadic tree over the 73,049 days of
// the domain, so that a search for any interval of days reads exactly
// the contacts born in it (a month is covered by at most a few tokens).
// Its tokens keep all 64 bits: at the deepest level a range index is an
// equality index on the day, which truncation would blur only at the cost
// of false positives. What an attacker holding the tables learns: which
// contacts share a birthday, and which were born close together; not
// which of two is older.
