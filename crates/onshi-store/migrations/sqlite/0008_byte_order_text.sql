-- Nothing to do: SQLite compares text byte by byte (BINARY) already. (On PostgreSQL this
-- migration gives every text column the "C" collation; the two folders keep the same versions.)
SELECT 1;
