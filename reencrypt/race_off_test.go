//go:build !race

package reencrypt_test

// raceEnabled is set when the tests run under the race detector, which
// makes crypto and database drivers several times slower: the large tests
// then default to fewer rows.
const raceEnabled = false
