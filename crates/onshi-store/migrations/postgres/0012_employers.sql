-- Employers (事業所) and checkup institutions (健診機関) as actors with API tokens; an employer's
-- consignments of institutions to deliver its employees' checkup results; the insurer's
-- requests to employers for a fiscal year's results; the employer attribute of a member version
-- and of a checkup (the member's employer when the checkup was linked), and who sent a checkup.
ALTER TABLE member_versions ADD COLUMN employer TEXT COLLATE "C";
CREATE TABLE institutions (
    number     TEXT COLLATE "C" PRIMARY KEY,
    name       TEXT COLLATE "C" NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
-- An employer is the insurer's: its code is unique within the insurer only.
CREATE TABLE employers (
    insurer_number TEXT COLLATE "C" NOT NULL REFERENCES insurers (number),
    code           TEXT COLLATE "C" NOT NULL,
    name           TEXT COLLATE "C" NOT NULL,
    industry       TEXT COLLATE "C" NOT NULL,
    prefecture     INTEGER NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (insurer_number, code)
);
-- valid_until is the last day covered.
CREATE TABLE consignments (
    id             TEXT COLLATE "C" PRIMARY KEY,
    insurer_number TEXT COLLATE "C" NOT NULL,
    employer       TEXT COLLATE "C" NOT NULL,
    institution    TEXT COLLATE "C" NOT NULL REFERENCES institutions (number),
    valid_from     DATE NOT NULL,
    valid_until    DATE,
    created_at     TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (insurer_number, employer) REFERENCES employers (insurer_number, code)
);
CREATE INDEX consignments_by_institution ON consignments (institution, insurer_number, employer);
CREATE TABLE checkup_requests (
    insurer_number TEXT COLLATE "C" NOT NULL,
    employer       TEXT COLLATE "C" NOT NULL,
    fiscal_year    INTEGER NOT NULL,
    due_date       DATE NOT NULL,
    requested_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (insurer_number, employer, fiscal_year),
    FOREIGN KEY (insurer_number, employer) REFERENCES employers (insurer_number, code)
);
ALTER TABLE checkups ADD COLUMN employer TEXT COLLATE "C";
ALTER TABLE checkups ADD COLUMN sender_kind TEXT COLLATE "C" NOT NULL DEFAULT 'insurer';
ALTER TABLE checkups ADD COLUMN sender_id TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE checkups ADD COLUMN consignment_id TEXT COLLATE "C";
CREATE INDEX checkups_by_employer ON checkups (insurer_number, employer, fiscal_year);
-- Token owners gain employers (owner_id `<insurer number>/<employer code>`) and institutions.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_owner_kind_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_owner_kind_check
    CHECK (owner_kind IN ('insurer', 'facility', 'employer', 'institution'));
