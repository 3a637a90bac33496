-- Sessions of the pages for people, kept server-side so that logging out or revoking one takes
-- effect at once. A row is a one-time login code (kind 'portal-code', from a card proof, used
-- once) or a session (kind 'portal' for a person, 'staff' for a staff account; `subject` is the
-- person's reference or the account's id); only the SHA-256 of the code or session id is stored.
-- A session ends at its absolute expiry, after its idle time without a request, or when ended.
CREATE TABLE web_sessions (
    token_hash   TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    subject      TEXT NOT NULL,
    csrf         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    ended_at     TEXT
);
