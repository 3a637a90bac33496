-- Small workplaces an insurer merges so that together they reach an employer report's 50
-- eligible members (合算): a group per insurer and code, each workplace in one group at most.
CREATE TABLE workplace_groups (
    insurer_number TEXT NOT NULL,
    code           TEXT NOT NULL,
    name           TEXT NOT NULL,
    PRIMARY KEY (insurer_number, code)
);
CREATE TABLE workplace_group_members (
    insurer_number TEXT NOT NULL,
    group_code     TEXT NOT NULL,
    employer       TEXT NOT NULL,
    PRIMARY KEY (insurer_number, employer),
    FOREIGN KEY (insurer_number, group_code) REFERENCES workplace_groups (insurer_number, code)
);
