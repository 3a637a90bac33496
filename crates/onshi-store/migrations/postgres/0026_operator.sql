-- The operator's side: the facility master (施設マスタ), onboarding, card-reader applications,
-- checks counted by facility, month and channel, and the weekly editions of public hospitals.

-- The master's fields. kind is NULL for a facility registered by hand before the master
-- (`onshi facility add`); the dashboard counts only facilities of the master.
ALTER TABLE facilities ADD COLUMN kind TEXT COLLATE "C";
ALTER TABLE facilities ADD COLUMN prefecture INTEGER;
ALTER TABLE facilities ADD COLUMN public_sector BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE facilities ADD COLUMN beds INTEGER NOT NULL DEFAULT 0;
ALTER TABLE facilities ADD COLUMN chain_group TEXT COLLATE "C";
ALTER TABLE facilities ADD COLUMN group_prescriptions INTEGER;
-- Onboarding: the facility's portal account (ポータルサイトアカウント登録, its application), then
-- the operator's approval, before which it has no credentials. Facilities registered before
-- onboarding existed were approved by the operator who registered them.
ALTER TABLE facilities ADD COLUMN portal_account_at TIMESTAMPTZ;
ALTER TABLE facilities ADD COLUMN approved_at TIMESTAMPTZ;
UPDATE facilities SET portal_account_at = created_at, approved_at = created_at;
CREATE INDEX facilities_by_kind ON facilities (kind, prefecture);

-- 顔認証付きカードリーダー申込: one application per facility (a later one replaces it), with
-- its readers and the free ones, then delivery and installation (準備完了). Dates in Japan.
CREATE TABLE reader_applications (
    facility_code TEXT COLLATE "C" PRIMARY KEY REFERENCES facilities (code),
    readers       INTEGER NOT NULL CHECK (readers >= 1),
    free_readers  INTEGER NOT NULL CHECK (free_readers >= 0),
    applied_on    DATE NOT NULL,
    delivered_on  DATE,
    installed_on  DATE,
    recorded_at   TIMESTAMPTZ NOT NULL
);

-- Checks answered, by facility, month (Japan) and channel (card, smartphone, number), counted in
-- the audit writer's commit. A facility operates (運用開始) from its first card or smartphone
-- check: the least first_at of those channels.
CREATE TABLE facility_checks (
    facility_code TEXT COLLATE "C" NOT NULL,
    month         TEXT COLLATE "C" NOT NULL,
    channel       TEXT COLLATE "C" NOT NULL CHECK (channel IN ('card', 'smartphone', 'number')),
    checks        BIGINT NOT NULL,
    first_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (facility_code, month, channel)
);

-- The weekly publication of public hospitals' applications: each edition frozen as its CSV,
-- with the SHA-256 of it; never changed once written.
CREATE TABLE weekly_editions (
    edition      TEXT COLLATE "C" PRIMARY KEY,
    published_at TIMESTAMPTZ NOT NULL,
    content_hash TEXT COLLATE "C" NOT NULL,
    content      TEXT COLLATE "C" NOT NULL
);
