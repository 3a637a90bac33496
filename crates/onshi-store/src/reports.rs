//! The aggregates the scoring reports and workplace sheets are computed from: for one fiscal
//! year, each person's latest checkup (aged 40–74 at the year's end, judged), counted by
//! insurer, workplace, sex and five-year age band, with how many have each report indicator
//! known and present (the bit masks of migration 20). No personal data leaves: only counts.
//!
//! The cells are kept (migrations 22, 25), not grouped per request: every write of checkups
//! (an import, a match) changes them in its own transaction, person by person
//! ([`CellChanges`]): what the people it wrote counted for before is subtracted, what they
//! count for now is added, so its cost grows with the people written, however large the
//! insurer's year or the store. A re-judging run recomputes them whole at its end
//! ([`Store::refresh_report_cells`]).
//! The engine (`onshi_checkup::scoring`) masks them before anything is shown.

use crate::{Store, StoreError};

pub use onshi_domain::ReportCell;

/// The indicator bits kept per cell (columns k0…k15, p0…p15 of migration 22).
pub const KEPT_BITS: u32 = 16;

/// The grouped SELECT of the cells of the checkups `filter` picks: each person's latest
/// judged checkup of a fiscal year, aged 40–74 at its end.
pub(crate) fn aggregate_sql(filter: &str) -> String {
    let mut sums = String::new();
    for bit in 0..KEPT_BITS {
        let mask = 1u32 << bit;
        sums.push_str(&format!(
            ", SUM(CASE WHEN (indicators_known & {mask}) <> 0 THEN 1 ELSE 0 END), \
             SUM(CASE WHEN (indicators & {mask}) <> 0 THEN 1 ELSE 0 END)"
        ));
    }
    format!(
        "SELECT fiscal_year, insurer_number, employer, sex, (age - 40) / 5, COUNT(*){sums} \
         FROM (SELECT fiscal_year, insurer_number, COALESCE(employer, '') AS employer, sex, age_at_fiscal_year_end AS age, \
             indicators_known, indicators, ROW_NUMBER() OVER ( \
             PARTITION BY fiscal_year, insurer_number, symbol, number, branch \
             ORDER BY exam_date DESC, version DESC, id DESC) AS rn \
           FROM checkups WHERE {filter} AND age_at_fiscal_year_end BETWEEN 40 AND 74 \
             AND rule_set IS NOT NULL) ranked \
         WHERE rn = 1 GROUP BY fiscal_year, insurer_number, employer, sex, (age - 40) / 5"
    )
}

/// Moves fiscal year $1's generation of kept cells on.
pub(crate) const BUMP_GENERATION: &str = "INSERT INTO report_generations (fiscal_year, generation) \
     VALUES ($1, 1) ON CONFLICT (fiscal_year) DO UPDATE SET generation = report_generations.generation + 1";

/// Moves every year's generation on: what changes how all years are published (a workplace's
/// industry, a group of merged workplaces) rather than one year's cells.
pub(crate) const BUMP_EVERY_GENERATION: &str =
    "UPDATE report_generations SET generation = generation + 1";

/// The INSERT that fills the cells of the checkups `filter` picks.
pub(crate) fn fill_sql(filter: &str) -> String {
    format!("{} {}", cell_insert_head(), aggregate_sql(filter))
}

/// The figures of one cell in the order the aggregate gives them: people, then known and
/// present for each kept bit (k0, p0, k1, p1, …).
pub(crate) const FIGURES: usize = 1 + 2 * KEPT_BITS as usize;

/// A cell's key: fiscal year, insurer, workplace ('' for none), sex, age band.
pub(crate) type CellKey = (i32, String, String, i32, i32);

/// Card keys counted per statement (four parameters each).
pub(crate) const KEYS_PER_COUNT: usize = 500;

/// Cell keys read or deleted per statement (five parameters each), and cells written per
/// INSERT (`FIGURES` + 5 parameters each): within SQLite's 32,766 parameters.
pub(crate) const CELLS_PER_STATEMENT: usize = 400;

/// What a write of checkups changes in the kept cells, person by person: before its first write
/// of a person (a card key) it subtracts what the person's checkups counted for
/// ([`count_people!`] with −1); before it commits, it adds what they count for now (+1), and
/// [`apply_changes!`] writes the difference. What is the same before and after (another fiscal
/// year of the same person, a checkup that was unchanged) cancels out. The cost grows with the
/// people written, not with the insurer's year or the store.
#[derive(Debug, Default)]
pub(crate) struct CellChanges {
    /// The card keys already counted before their first write.
    people: std::collections::HashSet<(String, String, String, String)>,
    /// The fiscal years the write touched (their generation moves at commit).
    pub(crate) years: std::collections::BTreeSet<i32>,
    cells: std::collections::BTreeMap<CellKey, [i64; FIGURES]>,
}

impl CellChanges {
    /// The card keys of `keys` not yet counted, now marked as counted.
    pub(crate) fn first_seen(
        &mut self,
        keys: &[(String, String, String, String)],
    ) -> Vec<(String, String, String, String)> {
        keys.iter()
            .filter(|k| self.people.insert((*k).clone()))
            .cloned()
            .collect()
    }

    /// Every card key counted so far.
    pub(crate) fn counted(&self) -> Vec<(String, String, String, String)> {
        self.people.iter().cloned().collect()
    }

    /// Adds `figures` times `sign` to the change of cell `key`.
    pub(crate) fn count(&mut self, key: CellKey, figures: &[i64; FIGURES], sign: i64) {
        let entry = self.cells.entry(key).or_insert([0; FIGURES]);
        for (e, f) in entry.iter_mut().zip(figures) {
            *e += sign * f;
        }
    }

    /// The cells that change, with their change.
    pub(crate) fn changed(&self) -> Vec<(&CellKey, &[i64; FIGURES])> {
        self.cells
            .iter()
            .filter(|(_, f)| f.iter().any(|x| *x != 0))
            .collect()
    }
}

/// A cell's key and figures from `$row`, a row of the aggregate or of `report_cells` (key
/// columns first, then people and each bit's known and present).
macro_rules! cell_of_row {
    ($row:expr) => {{
        use sqlx::Row as _;
        let key: $crate::reports::CellKey = (
            $row.try_get::<i32, _>(0)?,
            $row.try_get::<String, _>(1)?,
            $row.try_get::<String, _>(2)?,
            $row.try_get::<i32, _>(3)?,
            $row.try_get::<i32, _>(4)?,
        );
        let mut figures = [0i64; $crate::reports::FIGURES];
        for (i, f) in figures.iter_mut().enumerate() {
            *f = $row.try_get::<i64, _>(5 + i)?;
        }
        (key, figures)
    }};
}
pub(crate) use cell_of_row;

/// Adds the cells of every fiscal year of the people `$keys` (a slice of card keys) as their
/// checkups are now, times `$sign`, to `$changes` (a `CellChanges`), through `$conn`; `$sqlite`
/// says which parameter style the statement uses. A macro, as the store's other transaction
/// code, so that one text serves both backends.
macro_rules! count_people {
    ($conn:expr, $keys:expr, $sign:expr, $changes:expr, $sqlite:expr) => {{
        for chunk in $keys.chunks($crate::reports::KEYS_PER_COUNT) {
            // Built from numbers only: no value is in the text.
            let sql = $crate::reports::aggregate_sql(&$crate::checkups::keys_in(
                "insurer_number, symbol, number, branch",
                chunk.len(),
                $sqlite,
            ));
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for k in chunk {
                q = q.bind(&k.0).bind(&k.1).bind(&k.2).bind(&k.3);
            }
            for row in q.fetch_all($conn).await? {
                let (key, figures) = $crate::reports::cell_of_row!(row);
                $changes.count(key, &figures, $sign);
            }
        }
    }};
}
pub(crate) use count_people;

/// Writes `$changes` (a `CellChanges`) into the kept cells through `$conn`: each changed cell
/// read, deleted and written again with its change added (left out when no one is in it any
/// more), and the generation of every year the write touched moved. A cell that would count
/// fewer than no one is `Corrupt`: the kept cells disagreed with the checkups.
macro_rules! apply_changes {
    ($conn:expr, $changes:expr, $sqlite:expr) => {{
        let changed = $changes.changed();
        for chunk in changed.chunks($crate::reports::CELLS_PER_STATEMENT) {
            let keys = $crate::checkups::values(chunk.len(), 5, $sqlite);
            let select = format!(
                "{} WHERE (fiscal_year, insurer_number, employer, sex, band) IN (VALUES {keys})",
                $crate::reports::cell_select()
            );
            let delete = format!(
                "DELETE FROM report_cells WHERE (fiscal_year, insurer_number, employer, sex, band) IN (VALUES {keys})"
            );
            let mut s = sqlx::query(sqlx::AssertSqlSafe(select));
            let mut d = sqlx::query(sqlx::AssertSqlSafe(delete));
            for (k, _) in chunk {
                s = s.bind(k.0).bind(&k.1).bind(&k.2).bind(k.3).bind(k.4);
                d = d.bind(k.0).bind(&k.1).bind(&k.2).bind(k.3).bind(k.4);
            }
            let mut kept: std::collections::HashMap<
                (i32, String, String, i32, i32),
                [i64; $crate::reports::FIGURES],
            > = std::collections::HashMap::new();
            for row in s.fetch_all(&mut *$conn).await? {
                let (key, figures) = $crate::reports::cell_of_row!(row);
                kept.insert(key, figures);
            }
            d.execute(&mut *$conn).await?;
            let mut rows: Vec<(&(i32, String, String, i32, i32), [i64; $crate::reports::FIGURES])> =
                Vec::with_capacity(chunk.len());
            for (k, change) in chunk {
                let mut figures = kept.get(*k).copied().unwrap_or([0; $crate::reports::FIGURES]);
                for (f, c) in figures.iter_mut().zip(change.iter()) {
                    *f += c;
                }
                if figures.iter().any(|f| *f < 0) {
                    return Err($crate::StoreError::Corrupt(format!(
                        "report cell of fiscal year {} of insurer {} would count fewer than no one",
                        k.0, k.1
                    )));
                }
                if figures[0] > 0 {
                    rows.push((*k, figures));
                }
            }
            for part in rows.chunks($crate::reports::CELLS_PER_STATEMENT / 2) {
                let sql = format!(
                    "{} VALUES {}",
                    $crate::reports::cell_insert_head(),
                    $crate::checkups::values(part.len(), 5 + $crate::reports::FIGURES, $sqlite)
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (k, figures) in part {
                    q = q.bind(k.0).bind(&k.1).bind(&k.2).bind(k.3).bind(k.4);
                    for f in figures {
                        q = q.bind(*f);
                    }
                }
                q.execute(&mut *$conn).await?;
            }
        }
        for year in &$changes.years {
            sqlx::query($crate::reports::BUMP_GENERATION)
                .bind(*year)
                .execute(&mut *$conn)
                .await?;
        }
    }};
}
pub(crate) use apply_changes;

/// The kept columns of a cell in the aggregate's order.
fn cell_columns() -> String {
    let mut columns = String::from("fiscal_year, insurer_number, employer, sex, band, people");
    for bit in 0..KEPT_BITS {
        columns.push_str(&format!(", k{bit}, p{bit}"));
    }
    columns
}

/// `SELECT` of whole kept cells (without a `WHERE`).
pub(crate) fn cell_select() -> String {
    format!("SELECT {} FROM report_cells", cell_columns())
}

/// `INSERT INTO report_cells (…)` of whole cells (without its rows).
pub(crate) fn cell_insert_head() -> String {
    format!("INSERT INTO report_cells ({})", cell_columns())
}

impl Store {
    /// Recomputes the kept cells of fiscal year `year` (every year with `None`) from the
    /// checkups, in one transaction; returns how many cells there are now. The server calls it
    /// at start when the table is empty but judged checkups exist; the benchmark times it.
    pub async fn refresh_report_cells(&self, year: Option<i32>) -> Result<u64, StoreError> {
        let (delete, fill) = match year {
            Some(_) => (
                "DELETE FROM report_cells WHERE fiscal_year = $1",
                fill_sql("fiscal_year = $1"),
            ),
            None => ("DELETE FROM report_cells", fill_sql("1 = 1")),
        };
        Ok(crate::on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let mut d = sqlx::query(delete);
            let mut f = sqlx::query(sqlx::AssertSqlSafe(fill.clone()));
            if let Some(y) = year {
                d = d.bind(y);
                f = f.bind(y);
            }
            d.execute(&mut *tx).await?;
            let n = f.execute(&mut *tx).await?.rows_affected();
            let years: Vec<(i32,)> = match year {
                Some(y) => vec![(y,)],
                None => {
                    sqlx::query_as(
                        "SELECT fiscal_year FROM report_cells UNION SELECT fiscal_year FROM report_generations",
                    )
                    .fetch_all(&mut *tx)
                    .await?
                }
            };
            for (y,) in years {
                sqlx::query(BUMP_GENERATION)
                    .bind(y)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            n
        }))
    }

    /// Fiscal year `year`'s generation of what its reports are made from: it moves whenever its
    /// cells are refreshed, and for every year when an employer is registered or a group of
    /// merged workplaces set (0 before the first time), so whatever was computed at one
    /// generation still holds while it is the same.
    pub async fn report_generation(&self, year: i32) -> Result<i64, StoreError> {
        let found: Option<(i64,)> = crate::on_pool!(self, read, |p| {
            sqlx::query_as("SELECT generation FROM report_generations WHERE fiscal_year = $1")
                .bind(year)
                .fetch_optional(p)
                .await?
        });
        Ok(found.map_or(0, |(g,)| g))
    }

    /// Whether the kept cells are missing: none kept, yet judged checkups exist (a database
    /// migrated from before they were kept).
    pub async fn report_cells_missing(&self) -> Result<bool, StoreError> {
        let (kept, judged): (bool, bool) = crate::on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT EXISTS (SELECT 1 FROM report_cells), \
                 EXISTS (SELECT 1 FROM checkups WHERE rule_set IS NOT NULL)",
            )
            .fetch_one(p)
            .await?
        });
        Ok(!kept && judged)
    }

    /// The report cells of fiscal year `year`, with `indicators` indicator bits (at most
    /// [`KEPT_BITS`]), as kept.
    pub async fn report_cells(
        &self,
        year: i32,
        indicators: u32,
    ) -> Result<Vec<ReportCell>, StoreError> {
        let indicators = indicators.min(KEPT_BITS);
        let mut columns = String::from("insurer_number, employer, sex, band, people");
        for bit in 0..indicators {
            columns.push_str(&format!(", k{bit}, p{bit}"));
        }
        // Built from numbers only: no value is in the text.
        let sql = format!(
            "SELECT {columns} FROM report_cells WHERE fiscal_year = $1 \
             ORDER BY insurer_number, employer, sex, band"
        );
        crate::on_pool!(self, read, |p| {
            use sqlx::Row;
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(year)
                .fetch_all(p)
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let mut known = Vec::with_capacity(indicators as usize);
                let mut present = Vec::with_capacity(indicators as usize);
                for bit in 0..indicators {
                    known.push(r.try_get::<i64, _>(format!("k{bit}").as_str())?);
                    present.push(r.try_get::<i64, _>(format!("p{bit}").as_str())?);
                }
                out.push(ReportCell {
                    insurer: r.try_get("insurer_number")?,
                    employer: Some(r.try_get::<String, _>("employer")?).filter(|e| !e.is_empty()),
                    sex: u8::try_from(r.try_get::<i32, _>("sex")?).unwrap_or(0),
                    age_band: u8::try_from(r.try_get::<i32, _>("band")?).unwrap_or(0),
                    people: r.try_get("people")?,
                    known,
                    present,
                });
            }
            Ok(out)
        })
    }
}

/// An insurer's medical cost per member for a fiscal year (1人当たり医療費).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MedicalCost {
    /// 年度.
    pub fiscal_year: i32,
    /// Members the cost is averaged over.
    pub members: i64,
    /// Yen per member.
    pub cost_per_member: i64,
}

impl Store {
    /// Sets `insurer`'s medical costs per member, one per fiscal year (a year given again
    /// replaces the one kept), all in one transaction.
    pub async fn set_medical_costs(
        &self,
        insurer: &onshi_domain::InsurerNumber,
        costs: &[MedicalCost],
    ) -> Result<(), StoreError> {
        crate::on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            for c in costs {
                sqlx::query(
                    "INSERT INTO medical_costs (insurer_number, fiscal_year, members, cost_per_member) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (insurer_number, fiscal_year) \
                     DO UPDATE SET members = excluded.members, cost_per_member = excluded.cost_per_member",
                )
                .bind(insurer.as_str())
                .bind(c.fiscal_year)
                .bind(c.members)
                .bind(c.cost_per_member)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Every insurer's medical cost per member of fiscal year `year`, by insurer number.
    pub async fn medical_costs(
        &self,
        year: i32,
    ) -> Result<std::collections::BTreeMap<String, MedicalCost>, StoreError> {
        let rows: Vec<(String, i64, i64)> = crate::on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT insurer_number, members, cost_per_member FROM medical_costs WHERE fiscal_year = $1",
            )
            .bind(year)
            .fetch_all(p)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(n, members, cost_per_member)| {
                (
                    n,
                    MedicalCost {
                        fiscal_year: year,
                        members,
                        cost_per_member,
                    },
                )
            })
            .collect())
    }
}
