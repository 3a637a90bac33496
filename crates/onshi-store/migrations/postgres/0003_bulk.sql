-- Bulk lookups (一括照会): a facility submits many card keys at once and fetches the results later
-- by reception number. Items keep their request and, once processed, their result (JSON).
CREATE TABLE bulk_jobs (
    reception_number  TEXT PRIMARY KEY,
    facility_code     TEXT NOT NULL,
    consultation_date DATE NOT NULL,
    total             BIGINT NOT NULL,
    processed         BIGINT NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    finished_at       TIMESTAMPTZ
);

CREATE TABLE bulk_items (
    reception_number TEXT NOT NULL REFERENCES bulk_jobs (reception_number),
    seq              BIGINT NOT NULL,
    request          TEXT NOT NULL,
    result           TEXT,
    PRIMARY KEY (reception_number, seq)
);
