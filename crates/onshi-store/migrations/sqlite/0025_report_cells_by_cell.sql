-- Report cells are now changed person by person (onshi-store/src/reports.rs, `CellChanges`):
-- an import subtracts what the people it writes counted for before and adds what they count
-- for after, so a cell is looked up by its whole key. A workplace of none is kept as '' (not
-- NULL) so that the key is unique and every part of it can be matched through the index.
UPDATE report_cells SET employer = '' WHERE employer IS NULL;
DROP INDEX report_cells_by_year;
CREATE UNIQUE INDEX report_cells_by_cell ON report_cells (fiscal_year, insurer_number, employer, sex, band);
