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

-- Who read or changed whose data, and when. Append-only.
CREATE TABLE access_log (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id   TEXT NOT NULL,
    action     TEXT NOT NULL,
    member_id  TEXT,
    detail     TEXT
);
CREATE INDEX access_log_by_member ON access_log (member_id) WHERE member_id IS NOT NULL;
