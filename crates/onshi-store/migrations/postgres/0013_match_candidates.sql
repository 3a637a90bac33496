-- The insurer's matching queue proposes members with the unmatched checkup's birth date and sex:
-- found through this index rather than by reading all of an insurer's members.
CREATE INDEX member_versions_by_birth ON member_versions (birth_date, sex);
