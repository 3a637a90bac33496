-- The import log also keeps member-file imports (onshi import members): which kind of file
-- each row is, and for a member file the members it created and those it gave a new version
-- (its unchanged rows go in unchanged; linked, to_match and corrected stay 0).
ALTER TABLE import_log ADD COLUMN kind TEXT COLLATE "C" NOT NULL DEFAULT 'checkups';
ALTER TABLE import_log ADD COLUMN created BIGINT NOT NULL DEFAULT 0;
ALTER TABLE import_log ADD COLUMN changed BIGINT NOT NULL DEFAULT 0;
