-- What each checkup import did, kept also when it was refused (the refused import itself
-- stores nothing): the receiving insurer, who sent it, the file, whether it was imported, its
-- counts, and the first problems (as the receipt names them: file, element or line, reason;
-- never a value). The insurer's console lists its last months.
CREATE TABLE import_log (
    id             TEXT PRIMARY KEY,
    at             TEXT NOT NULL,
    insurer_number TEXT,
    actor_kind     TEXT NOT NULL,
    actor_id       TEXT NOT NULL,
    source         TEXT NOT NULL,
    imported       BOOLEAN NOT NULL,
    documents      BIGINT NOT NULL,
    linked         BIGINT NOT NULL,
    to_match       BIGINT NOT NULL,
    corrected      BIGINT NOT NULL,
    unchanged      BIGINT NOT NULL,
    problems       BIGINT NOT NULL,
    first_problems TEXT NOT NULL
);
CREATE INDEX import_log_by_insurer ON import_log (insurer_number, at);
