-- Observations are written only by a checkup import, in the transaction that writes their
-- checkup, with the checkup's new id. The foreign key checked that again with a trigger per row,
-- about 50 per checkup, and those checks were most of a large import's time (1 M checkups:
-- 1,300/s with it). The key goes; the index that finds a checkup's observations stays (the
-- primary key). SQLite keeps its key: it checks it cheaply and its tables are rebuilt to drop one.
ALTER TABLE checkup_observations DROP CONSTRAINT checkup_observations_checkup_id_fkey;
