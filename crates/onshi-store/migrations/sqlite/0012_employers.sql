-- Employers (事業所) and checkup institutions (健診機関) as actors with API tokens; an employer's
-- consignments of institutions to deliver its employees' checkup results; the insurer's
-- requests to employers for a fiscal year's results; the employer attribute of a member version
-- and of a checkup (the member's employer when the checkup was linked), and who sent a checkup.
ALTER TABLE member_versions ADD COLUMN employer TEXT;
CREATE TABLE institutions (
    number     TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
-- An employer is the insurer's: its code is unique within the insurer only.
CREATE TABLE employers (
    insurer_number TEXT NOT NULL REFERENCES insurers (number),
    code           TEXT NOT NULL,
    name           TEXT NOT NULL,
    industry       TEXT NOT NULL,
    prefecture     INTEGER NOT NULL,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (insurer_number, code)
);
-- valid_until is the last day covered; ended_at is set when the employer ends it early.
CREATE TABLE consignments (
    id             TEXT PRIMARY KEY,
    insurer_number TEXT NOT NULL,
    employer       TEXT NOT NULL,
    institution    TEXT NOT NULL REFERENCES institutions (number),
    valid_from     TEXT NOT NULL,
    valid_until    TEXT,
    created_at     TEXT NOT NULL,
    FOREIGN KEY (insurer_number, employer) REFERENCES employers (insurer_number, code)
);
CREATE INDEX consignments_by_institution ON consignments (institution, insurer_number, employer);
CREATE TABLE checkup_requests (
    insurer_number TEXT NOT NULL,
    employer       TEXT NOT NULL,
    fiscal_year    INTEGER NOT NULL,
    due_date       TEXT NOT NULL,
    requested_at   TEXT NOT NULL,
    PRIMARY KEY (insurer_number, employer, fiscal_year),
    FOREIGN KEY (insurer_number, employer) REFERENCES employers (insurer_number, code)
);
ALTER TABLE checkups ADD COLUMN employer TEXT;
ALTER TABLE checkups ADD COLUMN sender_kind TEXT NOT NULL DEFAULT 'insurer';
ALTER TABLE checkups ADD COLUMN sender_id TEXT NOT NULL DEFAULT '';
ALTER TABLE checkups ADD COLUMN consignment_id TEXT;
CREATE INDEX checkups_by_employer ON checkups (insurer_number, employer, fiscal_year);
-- Token owners gain employers (owner_id `<insurer number>/<employer code>`) and institutions.
CREATE TABLE api_tokens_new (
    token_hash TEXT PRIMARY KEY,
    owner_kind TEXT NOT NULL CHECK (owner_kind IN ('insurer', 'facility', 'employer', 'institution')),
    owner_id   TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT
);
INSERT INTO api_tokens_new SELECT token_hash, owner_kind, owner_id, created_at, expires_at, revoked_at FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_new RENAME TO api_tokens;
CREATE INDEX api_tokens_owner ON api_tokens (owner_kind, owner_id);
