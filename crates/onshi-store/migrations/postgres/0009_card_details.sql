-- What is printed on a member's card and the 高齢受給者証, on a member version:
-- onshi_domain::CardDetails's stored form (eleven parts separated by U+001F), NULL when the insurer
-- recorded none. One text column because nothing filters on it, like limit_certificate.
ALTER TABLE member_versions ADD COLUMN card_details TEXT COLLATE "C";
