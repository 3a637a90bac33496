-- The qualification registry (資格情報). Append-only migrations: never edit one that has shipped.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- 保険者. token_hash is the SHA-256 of the insurer's API token; the token itself is never stored.
CREATE TABLE insurers (
    number     TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    token_hash TEXT UNIQUE,
    created_at TEXT NOT NULL
);

-- A member of one insurer, identified by the card key (記号・番号・枝番). What the insurer says
-- about the member lives in member_versions; current_version points at the latest one.
CREATE TABLE members (
    id              TEXT PRIMARY KEY,
    insurer_number  TEXT NOT NULL REFERENCES insurers (number),
    symbol          TEXT NOT NULL,
    number          TEXT NOT NULL,
    branch          TEXT NOT NULL,
    current_version INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    UNIQUE (insurer_number, symbol, number, branch)
);
CREATE INDEX members_by_insurer ON members (insurer_number, id);

-- Every version ever recorded; rows are only ever inserted.
CREATE TABLE member_versions (
    member_id       TEXT NOT NULL REFERENCES members (id),
    version         INTEGER NOT NULL,
    recorded_at     TEXT NOT NULL,
    source          TEXT NOT NULL,
    name            TEXT NOT NULL,
    name_kana       TEXT NOT NULL,
    birth_date      TEXT NOT NULL,
    sex             INTEGER NOT NULL,
    relationship    INTEGER NOT NULL,
    qualified_from  TEXT NOT NULL,
    qualified_until TEXT,
    loss_reason     TEXT,
    copay_ratio     INTEGER NOT NULL,
    person_ref      TEXT,
    content_hash    TEXT NOT NULL,
    PRIMARY KEY (member_id, version)
);
CREATE INDEX member_versions_by_person ON member_versions (person_ref) WHERE person_ref IS NOT NULL;

-- Who read or changed whose data, and when. Append-only and hash-chained: each hash covers the
-- entry and the hash before it (onshi_domain::audit), so `onshi audit verify` finds any edited
-- or deleted entry. audit_head holds the last seq and hash; appends take its row lock.
CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id   TEXT NOT NULL,
    action     TEXT NOT NULL,
    member_id  TEXT,
    person_ref TEXT,
    detail     TEXT,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX audit_log_by_member ON audit_log (member_id) WHERE member_id IS NOT NULL;
CREATE INDEX audit_log_by_person ON audit_log (person_ref) WHERE person_ref IS NOT NULL;

CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY,
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
