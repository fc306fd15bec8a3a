-- name: CreateContact :exec
INSERT INTO contacts (id, tenant_id, name, email, email_idx, phone, company, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8);

-- name: GetContact :one
SELECT * FROM contacts
WHERE tenant_id = $1 AND id = $2;

-- name: ListContacts :many
SELECT * FROM contacts
WHERE tenant_id = @tenant_id AND id > @after
ORDER BY id
LIMIT @page_size;

-- FindContactsByEmailIdx takes the values of crypt's BlindIndexValues: one
-- per enabled index key, so rows written before and after an index-key
-- rotation are both found.
-- name: FindContactsByEmailIdx :many
SELECT * FROM contacts
WHERE tenant_id = @tenant_id AND email_idx = ANY(@email_idx::text[])
ORDER BY id;

-- name: UpdateContact :execrows
UPDATE contacts SET name = @name, email = @email, email_idx = @email_idx, phone = @phone, company = @company
WHERE tenant_id = @tenant_id AND id = @id;
