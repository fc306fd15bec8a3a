package crypt_test

import (
	"context"
	"fmt"
	"log"

	"github.com/fieldcrypt/fieldcrypt/crypt"
)

// Author is the record type of the token-index example.
type Author struct {
	_          struct{}     `crypt:"record=author"`
	ID         string       `crypt:"id"`
	TenantID   string       `crypt:"scope"`
	Name       string       `crypt:"encrypt,class=pii"`
	NamePrefix crypt.Tokens `crypt:"prefix=Name,len=3..8,bits=12,transform=lower+trim"`
	Born       string       `crypt:"encrypt,class=pii"`
	BornRange  crypt.Tokens `crypt:"range=Born,type=date,min=1700-01-01,max=2100-12-31"`
}

func ExampleEncryptor_Search() {
	ctx := context.Background()
	kr, cleanup := exampleKeyring(true)
	defer cleanup()
	enc := crypt.New(kr, nil)

	// The table: encrypted rows, each with its tokens.
	var table []*Author
	for i, a := range []struct{ name, born string }{
		{"Ada Lovelace", "1815-12-10"}, {"Adam Smith", "1723-06-16"}, {"Mary Shelley", "1797-08-30"},
	} {
		row := &Author{ID: fmt.Sprint("a-", i), TenantID: "acme", Name: a.name, Born: a.born}
		if err := enc.Encrypt(ctx, row); err != nil {
			log.Fatal(err)
		}
		table = append(table, row)
	}

	for _, q := range []struct {
		index string
		term  crypt.Term
	}{
		{"NamePrefix", crypt.HasPrefix("ADA L")},
		{"BornRange", crypt.Between("1790-01-01", "1819-12-31")},
	} {
		s, err := enc.Search(ctx, &Author{TenantID: "acme"}, q.index, q.term)
		if err != nil {
			log.Fatal(err)
		}
		for _, stored := range table {
			// The data layer's lookup: the row's tokens against s.Queries.
			tokens := stored.NamePrefix
			if q.index == "BornRange" {
				tokens = stored.BornRange
			}
			if !s.Candidate(tokens) {
				continue
			}
			row := *stored
			if err := enc.Decrypt(ctx, &row); err != nil {
				log.Fatal(err)
			}
			if ok, err := s.Match(&row); err != nil {
				log.Fatal(err)
			} else if ok {
				fmt.Println(q.term, row.Name)
			}
		}
	}
	// Output:
	// HasPrefix(…) Ada Lovelace
	// Between(…) Ada Lovelace
	// Between(…) Mary Shelley
}
