-- The report cells, kept (materialized) instead of grouped on every request: for each fiscal
-- year, insurer, workplace (NULL: none), sex and five-year age band (0 = 40-44 … 6 = 70-74),
-- the people whose latest judged checkup of the year counts, and per report indicator bit
-- (onshi-checkup/src/indicators.rs; up to 16) how many have it known (kN) and present (pN).
-- Every write of checkups refreshes the (fiscal year, insurer) groups it touched in the same
-- transaction (onshi-store/src/reports.rs); the server fills the table at start when it is
-- empty and judged checkups exist (a database from before this migration).
CREATE TABLE report_cells (
    fiscal_year    INTEGER NOT NULL,
    insurer_number TEXT NOT NULL,
    employer       TEXT,
    sex            INTEGER NOT NULL,
    band           INTEGER NOT NULL,
    people         BIGINT NOT NULL,
    k0             BIGINT NOT NULL,
    k1             BIGINT NOT NULL,
    k2             BIGINT NOT NULL,
    k3             BIGINT NOT NULL,
    k4             BIGINT NOT NULL,
    k5             BIGINT NOT NULL,
    k6             BIGINT NOT NULL,
    k7             BIGINT NOT NULL,
    k8             BIGINT NOT NULL,
    k9             BIGINT NOT NULL,
    k10            BIGINT NOT NULL,
    k11            BIGINT NOT NULL,
    k12            BIGINT NOT NULL,
    k13            BIGINT NOT NULL,
    k14            BIGINT NOT NULL,
    k15            BIGINT NOT NULL,
    p0             BIGINT NOT NULL,
    p1             BIGINT NOT NULL,
    p2             BIGINT NOT NULL,
    p3             BIGINT NOT NULL,
    p4             BIGINT NOT NULL,
    p5             BIGINT NOT NULL,
    p6             BIGINT NOT NULL,
    p7             BIGINT NOT NULL,
    p8             BIGINT NOT NULL,
    p9             BIGINT NOT NULL,
    p10            BIGINT NOT NULL,
    p11            BIGINT NOT NULL,
    p12            BIGINT NOT NULL,
    p13            BIGINT NOT NULL,
    p14            BIGINT NOT NULL,
    p15            BIGINT NOT NULL
);
CREATE INDEX report_cells_by_year ON report_cells (fiscal_year, insurer_number);
-- Each fiscal year's generation of kept cells, moved by every refresh of them, so that a server
-- keeps the reports it published (masking a national year takes seconds) until they change.
CREATE TABLE report_generations (
    fiscal_year INTEGER PRIMARY KEY,
    generation  BIGINT NOT NULL
);
