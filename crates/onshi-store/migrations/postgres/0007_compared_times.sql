-- Nothing to do: PostgreSQL compares TIMESTAMPTZ values as times. (On SQLite this migration
-- rewrites compared times as fixed-width text; the two folders keep the same versions.)
SELECT 1;
