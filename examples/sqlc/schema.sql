-- The contacts table. name, email and phone hold fieldcrypt ciphertexts;
-- email_idx holds the e-mail's blind index, searched by equality.
CREATE TABLE contacts (
    id         BIGINT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL,
    email_idx  TEXT NOT NULL,
    phone      TEXT,
    company    TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX contacts_email_idx ON contacts (tenant_id, email_idx);
