-- API tokens of insurers and facilities, several per owner, so that a token can be rotated (the
-- old one valid until expires_at, a grace period) and revoked (revoked_at) without editing the
-- owner's row. Only the SHA-256 of a token is stored. The owners' own token_hash columns are
-- emptied: every lookup goes through this table.
CREATE TABLE api_tokens (
    token_hash TEXT COLLATE "C" PRIMARY KEY,
    owner_kind TEXT COLLATE "C" NOT NULL CHECK (owner_kind IN ('insurer', 'facility')),
    owner_id   TEXT COLLATE "C" NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX api_tokens_owner ON api_tokens (owner_kind, owner_id);
INSERT INTO api_tokens (token_hash, owner_kind, owner_id, created_at)
    SELECT token_hash, 'insurer', number, created_at FROM insurers WHERE token_hash IS NOT NULL;
INSERT INTO api_tokens (token_hash, owner_kind, owner_id, created_at)
    SELECT token_hash, 'facility', code, created_at FROM facilities WHERE token_hash IS NOT NULL;
UPDATE insurers SET token_hash = NULL;
UPDATE facilities SET token_hash = NULL;
