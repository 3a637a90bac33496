-- Each insurer's medical cost per member of a fiscal year (1人当たり医療費), as it imports it
-- (a CSV of fiscal_year, members, cost_per_member in yen): the scoring report's cost section.
-- Insurer-level figures, no personal data.
CREATE TABLE medical_costs (
    insurer_number  TEXT COLLATE "C" NOT NULL,
    fiscal_year     INTEGER NOT NULL,
    members         BIGINT NOT NULL,
    cost_per_member BIGINT NOT NULL,
    PRIMARY KEY (insurer_number, fiscal_year)
);
