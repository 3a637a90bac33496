-- Sessions of the pages for people, kept server-side so that logging out or revoking one takes
-- effect at once. A row is a one-time login code (kind 'portal-code', from a card proof, used
-- once) or a session (kind 'portal' for a person, 'staff' for a staff account; `subject` is the
-- person's reference or the account's id); only the SHA-256 of the code or session id is stored.
-- A session ends at its absolute expiry, after its idle time without a request, or when ended.
CREATE TABLE web_sessions (
    token_hash   TEXT COLLATE "C" PRIMARY KEY,
    kind         TEXT COLLATE "C" NOT NULL,
    subject      TEXT COLLATE "C" NOT NULL,
    csrf         TEXT COLLATE "C" NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    ended_at     TIMESTAMPTZ
);
