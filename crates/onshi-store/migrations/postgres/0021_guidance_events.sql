-- Specific health guidance (特定保健指導) as it happens to a member in a fiscal year: the first
-- interview (初回面接), completion (終了, the final evaluation) and drop-out (脱落), one row each
-- at most, recorded by the insurer (API, CSV). The guidance rate is completed / targets.
CREATE TABLE guidance_events (
    member_id   TEXT COLLATE "C" NOT NULL REFERENCES members (id),
    fiscal_year INTEGER NOT NULL,
    event       TEXT COLLATE "C" NOT NULL,
    on_date     DATE NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (member_id, fiscal_year, event)
);
CREATE INDEX guidance_events_by_year ON guidance_events (fiscal_year, event);
