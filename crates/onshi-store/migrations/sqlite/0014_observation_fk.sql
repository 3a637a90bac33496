-- PostgreSQL's migration 14 drops the foreign key of checkup_observations (a trigger per row was
-- most of its import time). SQLite keeps it: its check is cheap, and dropping it means
-- rebuilding the table. Nothing to do here; the number keeps both backends' versions aligned.
SELECT 1;
