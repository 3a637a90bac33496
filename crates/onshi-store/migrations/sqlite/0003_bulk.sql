-- Bulk lookups (一括照会): a facility submits many card keys at once and fetches the results later
-- by reception number. Items keep their request and, once processed, their result (JSON).
CREATE TABLE bulk_jobs (
    reception_number  TEXT PRIMARY KEY,
    facility_code     TEXT NOT NULL,
    consultation_date TEXT NOT NULL,
    total             INTEGER NOT NULL,
    processed         INTEGER NOT NULL,
    created_at        TEXT NOT NULL,
    finished_at       TEXT
);

CREATE TABLE bulk_items (
    reception_number TEXT NOT NULL REFERENCES bulk_jobs (reception_number),
    seq              INTEGER NOT NULL,
    request          TEXT NOT NULL,
    result           TEXT,
    PRIMARY KEY (reception_number, seq)
);
