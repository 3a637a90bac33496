-- Staff accounts of the pages: each belongs to one organisation (an insurer, an employer, a
-- facility, or the operator) and signs in with a password (argon2id, PHC string) and a TOTP
-- code (the secret sealed under the deployment's key; the last step used, so a code is good
-- once). Repeated failures lock the account for a while; a disabled account never signs in.
CREATE TABLE staff_accounts (
    id             TEXT PRIMARY KEY,
    login          TEXT NOT NULL UNIQUE,
    org_kind       TEXT NOT NULL,
    org_id         TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    totp_sealed    TEXT NOT NULL,
    totp_last_step BIGINT,
    failures       INTEGER NOT NULL DEFAULT 0,
    locked_until   TEXT,
    disabled_at    TEXT,
    created_at     TEXT NOT NULL
);
