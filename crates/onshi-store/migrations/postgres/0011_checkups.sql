-- Checkup results (特定健診) from standard archives: one row per version of a person's checkup at
-- an institution on an exam date (a corrected document is a new version; the same one again
-- changes nothing), with the columns analytics cut by, and its observations. member_id and
-- person_ref are set when the document's card key, birth date and sex match the member's
-- qualification in force on the exam date; rows without are the insurer's matching queue.
CREATE TABLE checkups (
    id                     TEXT COLLATE "C" PRIMARY KEY,
    insurer_number         TEXT COLLATE "C" NOT NULL,
    symbol                 TEXT COLLATE "C" NOT NULL,
    number                 TEXT COLLATE "C" NOT NULL,
    branch                 TEXT COLLATE "C" NOT NULL,
    exam_date              DATE NOT NULL,
    institution            TEXT COLLATE "C" NOT NULL,
    version                INTEGER NOT NULL,
    recorded_at            TIMESTAMPTZ NOT NULL,
    source_archive         TEXT COLLATE "C" NOT NULL,
    source_file            TEXT COLLATE "C" NOT NULL,
    report_kind            TEXT COLLATE "C" NOT NULL,
    program                TEXT COLLATE "C" NOT NULL,
    name_kana              TEXT COLLATE "C" NOT NULL,
    birth_date             DATE NOT NULL,
    sex                    INTEGER NOT NULL,
    fiscal_year            INTEGER NOT NULL,
    age_at_fiscal_year_end INTEGER NOT NULL,
    member_id              TEXT COLLATE "C" REFERENCES members (id),
    person_ref             TEXT COLLATE "C",
    content_hash           TEXT COLLATE "C" NOT NULL,
    UNIQUE (insurer_number, symbol, number, branch, exam_date, institution, version)
);
CREATE INDEX checkups_by_person ON checkups (person_ref) WHERE person_ref IS NOT NULL;
CREATE INDEX checkups_unmatched ON checkups (insurer_number) WHERE member_id IS NULL;
CREATE TABLE checkup_observations (
    checkup_id     TEXT COLLATE "C" NOT NULL REFERENCES checkups (id),
    seq            INTEGER NOT NULL,
    code           TEXT COLLATE "C" NOT NULL,
    value_kind     TEXT COLLATE "C" NOT NULL,
    value          TEXT COLLATE "C",
    unit           TEXT COLLATE "C",
    code_system    TEXT COLLATE "C",
    interpretation TEXT COLLATE "C",
    method         TEXT COLLATE "C",
    PRIMARY KEY (checkup_id, seq)
);
