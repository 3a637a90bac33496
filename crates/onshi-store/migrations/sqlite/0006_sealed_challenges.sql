-- Challenges are sealed and carried by the client (onshi-domain's `challenge` module); the table
-- now keeps only used ones, written when they are used. Rows issued by earlier versions and never
-- used can no longer be answered (their ids are not sealed), so they go.
DELETE FROM challenges WHERE used_at IS NULL;
