-- Example schema: replace with your own, or delete this file and let your
-- application's migration tool create the schema.

CREATE TABLE IF NOT EXISTS items (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    owner_email citext,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS items_created_at_idx ON items (created_at DESC);

INSERT INTO items (name, owner_email) VALUES
    ('First item', 'alice@example.org'),
    ('Second item', 'bob@example.org');
