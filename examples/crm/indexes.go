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
