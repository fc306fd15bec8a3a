package main

import (
	"context"
)

// insertInteraction inserts an encrypted interaction.
func (d *database) insertInteraction(ctx context.Context, in *Interaction) error {
	_, err := d.ExecContext(ctx, d.q(`INSERT INTO interactions (tenant_id, id, contact_id, channel, summary, at)
		VALUES (?, ?, ?, ?, ?, ?)`),
		in.TenantID, in.ID, in.ContactID, in.Channel, in.Summary, d.timeArg(in.At))
	return err
}

// listInteractions reads a contact's history, oldest first, still
// encrypted.
func (d *database) listInteractions(ctx context.Context, tenant, contactID string) ([]Interaction, error) {
	rows, err := d.QueryContext(ctx, d.q(`SELECT tenant_id, id, contact_id, channel, summary, at FROM interactions
		WHERE tenant_id = ? AND contact_id = ? ORDER BY at, id`), tenant, contactID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Interaction
	for rows.Next() {
		var in Interaction
		if err := rows.Scan(&in.TenantID, &in.ID, &in.ContactID, &in.Channel, &in.Summary, dbTime{&in.At}); err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, rows.Err()
}
