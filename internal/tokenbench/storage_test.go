package tokenbench

// storageRow is what one token index costs in each layout, in bytes per
// contact, beside what the baseline's index on the same column costs.
type storageRow struct {
	index  string
	tokens float64 // tokens per contact

	sideHeap, sidePK, sideID float64 // the side table, its (token, id) and (id) indexes

	arrayInRow float64 // the array's average size in the main table's row
	gin        float64 // its GIN index

	plaintextIndex float64
}

// tableSize is what one table of the run costs, in bytes per contact.
type tableSize struct {
	table                string
	heap, indexes, total float64
}

// measureStorage records the size of every table and index per contact,
// after VACUUM.
func (b *bench) measureStorage() {
	perContact := func(bytes int64) float64 { return float64(bytes) / float64(len(b.contacts)) }
	size := func(expr, relation string) float64 {
		var bytes int64
		if err := b.pool.QueryRow(b.ctx, `SELECT `+expr+`($1::regclass)`, relation).Scan(&bytes); err != nil {
			b.t.Fatalf("%s(%s): %v", expr, relation, err)
		}
		return perContact(bytes)
	}
	for _, idx := range tokenIndexes {
		side := "contacts_" + idx.name
		var tokens int64
		var inRow float64
		err := b.pool.QueryRow(b.ctx,
			`SELECT sum(cardinality(`+idx.name+`_tokens)), avg(pg_column_size(`+idx.name+`_tokens)) FROM contacts_arrays`,
		).Scan(&tokens, &inRow)
		if err != nil {
			b.t.Fatalf("array sizes of %s: %v", idx.name, err)
		}
		b.storage = append(b.storage, storageRow{
			index:          idx.name,
			tokens:         perContact(tokens),
			sideHeap:       size("pg_table_size", side),
			sidePK:         size("pg_relation_size", side+"_pkey"),
			sideID:         size("pg_relation_size", side+"_id"),
			arrayInRow:     inRow,
			gin:            size("pg_relation_size", "contacts_arrays_"+idx.name+"_gin"),
			plaintextIndex: size("pg_relation_size", idx.plaintextIndex),
		})
	}
	for _, table := range []string{"contacts", "contacts_arrays", "contacts_prefix", "contacts_email", "contacts_created"} {
		b.tables = append(b.tables, tableSize{
			table:   table,
			heap:    size("pg_table_size", table),
			indexes: size("pg_indexes_size", table),
			total:   size("pg_total_relation_size", table),
		})
	}
}
