-- Each checkup's 保健指導レベル (9N506 code: 1 積極的支援, 2 動機付け支援, 3 情報提供, 4 判定不能;
-- NULL outside ages 40-74), メタボリックシンドローム判定 (9N501 code, 1-4), whether an item is at or
-- past its 受診勧奨判定値 (referral: the person is told to see a doctor), the report indicators
-- (onshi-checkup/src/indicators.rs: a bit mask of those known and of those present), and the rule set
-- that produced them (onshi-checkup/src/stratify.rs). Rows imported before this migration
-- have no rule set: the server judges them when it starts, as it does every row whose rule
-- set is no longer the one for its fiscal year.
ALTER TABLE checkups ADD COLUMN rule_set TEXT COLLATE "C";
ALTER TABLE checkups ADD COLUMN guidance_level TEXT COLLATE "C";
ALTER TABLE checkups ADD COLUMN referral BOOLEAN;
ALTER TABLE checkups ADD COLUMN indicators_known INTEGER;
ALTER TABLE checkups ADD COLUMN indicators INTEGER;
ALTER TABLE checkups ADD COLUMN metabolic TEXT COLLATE "C";
CREATE INDEX checkups_by_fiscal_year ON checkups (fiscal_year, insurer_number);
