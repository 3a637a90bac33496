-- A used challenge remembers whose card answered it, so the check can be referred to later (for
-- example from a FHIR CoverageEligibilityRequest) without the card again.
ALTER TABLE challenges ADD COLUMN person_ref TEXT;
