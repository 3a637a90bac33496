-- The operator's side: the facility master (施設マスタ), onboarding, card-reader applications,
-- checks counted by facility, month and channel, and the weekly editions of public hospitals.

-- The master's fields. kind is NULL for a facility registered by hand before the master
-- (`onshi facility add`); the dashboard counts only facilities of the master.
ALTER TABLE facilities ADD COLUMN kind TEXT;
ALTER TABLE facilities ADD COLUMN prefecture INTEGER;
ALTER TABLE facilities ADD COLUMN public_sector INTEGER NOT NULL DEFAULT 0;
ALTER TABLE facilities ADD COLUMN beds INTEGER NOT NULL DEFAULT 0;
ALTER TABLE facilities ADD COLUMN chain_group TEXT;
ALTER TABLE facilities ADD COLUMN group_prescriptions INTEGER;
-- Onboarding: the facility's portal account (ポータルサイトアカウント登録, its application), then
-- the operator's approval, before which it has no credentials. Facilities registered before
-- onboarding existed were approved by the operator who registered them.
ALTER TABLE facilities ADD COLUMN portal_account_at TEXT;
ALTER TABLE facilities ADD COLUMN approved_at TEXT;
UPDATE facilities SET portal_account_at = created_at, approved_at = created_at;
CREATE INDEX facilities_by_kind ON facilities (kind, prefecture);

-- 顔認証付きカードリーダー申込: one application per facility (a later one replaces it), with
-- its readers and the free ones, then delivery and installation (準備完了). Dates in Japan.
CREATE TABLE reader_applications (
    facility_code TEXT PRIMARY KEY REFERENCES facilities (code),
    readers       INTEGER NOT NULL CHECK (readers >= 1),
    free_readers  INTEGER NOT NULL CHECK (free_readers >= 0),
    applied_on    TEXT NOT NULL,
    delivered_on  TEXT,
    installed_on  TEXT,
    recorded_at   TEXT NOT NULL
);

-- Checks answered, by facility, month (Japan) and channel (card, smartphone, number), counted in
-- the audit writer's commit. A facility operates (運用開始) from its first card or smartphone
-- check: the least first_at of those channels.
CREATE TABLE facility_checks (
    facility_code TEXT NOT NULL,
    month         TEXT NOT NULL,
    channel       TEXT NOT NULL CHECK (channel IN ('card', 'smartphone', 'number')),
    checks        INTEGER NOT NULL,
    first_at      TEXT NOT NULL,
    PRIMARY KEY (facility_code, month, channel)
);

-- The weekly publication of public hospitals' applications: each edition frozen as its CSV,
-- with the SHA-256 of it; never changed once written.
CREATE TABLE weekly_editions (
    edition      TEXT PRIMARY KEY,
    published_at TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    content      TEXT NOT NULL
);
