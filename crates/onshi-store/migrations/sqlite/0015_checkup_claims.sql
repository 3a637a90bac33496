-- The claim an archive carries with a checkup (CLAIMS/c….xml, cc08): 請求区分 and the
-- settlement's money in yen (単価合計, 窓口支払金額, 他の健診側負担額, 請求金額). NULL when the
-- archive carried no claim (results-only archives, CSV files, older rows).
ALTER TABLE checkups ADD COLUMN claim_type TEXT;
ALTER TABLE checkups ADD COLUMN unit_amount INTEGER;
ALTER TABLE checkups ADD COLUMN payment_amount INTEGER;
ALTER TABLE checkups ADD COLUMN other_amount INTEGER;
ALTER TABLE checkups ADD COLUMN claim_amount INTEGER;
