-- Eligibility confirmation: facilities, the certificate directory (the J-LIS role), card
-- registration for insurance use (利用申込), single-use challenges, and consents.

-- 保険医療機関・薬局. token_hash is the SHA-256 of the facility's API token.
CREATE TABLE facilities (
    code       TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    token_hash TEXT UNIQUE,
    created_at TIMESTAMPTZ NOT NULL
);

-- Which user-authentication certificate belongs to which person. A person's card and smartphone
-- certificates share the person_ref; each is revoked on its own issuer's CRL.
CREATE TABLE certificates (
    fingerprint TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    serial      TEXT NOT NULL,
    person_ref  TEXT NOT NULL,
    not_after   TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX certificates_by_person ON certificates (person_ref);

-- 利用申込: the person registered their card for insurance use, proving possession of its key.
CREATE TABLE insurance_registrations (
    person_ref    TEXT PRIMARY KEY,
    channel       TEXT NOT NULL,
    facility_code TEXT,
    certificate   TEXT NOT NULL,
    registered_at TIMESTAMPTZ NOT NULL
);

-- Single-use challenges for card signatures, bound to the facility (or 'portal') they were
-- issued to.
CREATE TABLE challenges (
    id         TEXT PRIMARY KEY,
    nonce      TEXT NOT NULL,
    audience   TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);

-- The patient's consent, at a facility, to share one kind of information, until expires_at.
CREATE TABLE consents (
    person_ref    TEXT NOT NULL,
    facility_code TEXT NOT NULL,
    kind          TEXT NOT NULL,
    given_at      TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (person_ref, facility_code, kind, given_at)
);
