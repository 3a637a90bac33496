-- Checkup results (特定健診) from standard archives: one row per version of a person's checkup at
-- an institution on an exam date (a corrected document is a new version; the same one again
-- changes nothing), with the columns analytics cut by, and its observations. member_id and
-- person_ref are set when the document's card key, birth date and sex match the member's
-- qualification in force on the exam date; rows without are the insurer's matching queue.
CREATE TABLE checkups (
    id                     TEXT PRIMARY KEY,
    insurer_number         TEXT NOT NULL,
    symbol                 TEXT NOT NULL,
    number                 TEXT NOT NULL,
    branch                 TEXT NOT NULL,
    exam_date              TEXT NOT NULL,
    institution            TEXT NOT NULL,
    version                INTEGER NOT NULL,
    recorded_at            TEXT NOT NULL,
    source_archive         TEXT NOT NULL,
    source_file            TEXT NOT NULL,
    report_kind            TEXT NOT NULL,
    program                TEXT NOT NULL,
    name_kana              TEXT NOT NULL,
    birth_date             TEXT NOT NULL,
    sex                    INTEGER NOT NULL,
    fiscal_year            INTEGER NOT NULL,
    age_at_fiscal_year_end INTEGER NOT NULL,
    member_id              TEXT REFERENCES members (id),
    person_ref             TEXT,
    content_hash           TEXT NOT NULL,
    UNIQUE (insurer_number, symbol, number, branch, exam_date, institution, version)
);
CREATE INDEX checkups_by_person ON checkups (person_ref) WHERE person_ref IS NOT NULL;
CREATE INDEX checkups_unmatched ON checkups (insurer_number) WHERE member_id IS NULL;
CREATE TABLE checkup_observations (
    checkup_id     TEXT NOT NULL REFERENCES checkups (id),
    seq            INTEGER NOT NULL,
    code           TEXT NOT NULL,
    value_kind     TEXT NOT NULL,
    value          TEXT,
    unit           TEXT,
    code_system    TEXT,
    interpretation TEXT,
    method         TEXT,
    PRIMARY KEY (checkup_id, seq)
);
