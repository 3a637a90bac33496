-- 限度額適用認定証 on a member version: onshi_domain::LimitCertificate's stored form
-- (`class|bracket|issued|from|until|long_term`), NULL when the insurer recorded none. One text
-- column because nothing filters on it; it is shown only with the patient's consent.
ALTER TABLE member_versions ADD COLUMN limit_certificate TEXT;
