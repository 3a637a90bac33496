//! The aggregates the scoring reports and workplace sheets are computed from: for one fiscal
//! year, each person's latest checkup (aged 40–74 at the year's end, judged), counted by
//! insurer, workplace, sex and five-year age band, with how many have each report indicator
//! known and present (the bit masks of migration 20). No personal data leaves: only counts.
//!
//! The cells are kept (migration 22), not grouped per request: every write of checkups (an
//! import, a match, new judgements) refreshes the (fiscal year, insurer) groups it touched in
//! its own transaction (`refresh_groups!`), which costs one indexed group of that insurer's
//! year, however large the rest of the store.
//! The engine (`onshi_checkup::scoring`) masks them before anything is shown.

use crate::{Store, StoreError};

pub use onshi_domain::ReportCell;

/// The indicator bits kept per cell (columns k0…k15, p0…p15 of migration 22).
pub const KEPT_BITS: u32 = 16;

/// The grouped SELECT of the cells of the checkups `filter` picks: each person's latest
/// judged checkup of a fiscal year, aged 40–74 at its end.
fn aggregate_sql(filter: &str) -> String {
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
         FROM (SELECT fiscal_year, insurer_number, employer, sex, age_at_fiscal_year_end AS age, \
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
    let mut columns = String::from("fiscal_year, insurer_number, employer, sex, band, people");
    for bit in 0..KEPT_BITS {
        columns.push_str(&format!(", k{bit}, p{bit}"));
    }
    format!(
        "INSERT INTO report_cells ({columns}) {}",
        aggregate_sql(filter)
    )
}

/// Refreshes the cells of the `(fiscal year, insurer)` groups `$groups` (a
/// `BTreeSet<(i32, String)>`) through `$conn` (an expression giving the open transaction's
/// connection, `&mut *tx`): what every write of checkups does before it commits, so the kept
/// cells never disagree with them. A macro, as the store's other transaction code, so that one
/// text serves both backends.
macro_rules! refresh_groups {
    ($conn:expr, $groups:expr) => {{
        // Built from numbers only: no value is in the text.
        let fill = $crate::reports::fill_sql("fiscal_year = $1 AND insurer_number = $2");
        let years: std::collections::BTreeSet<i32> = $groups.iter().map(|(y, _)| *y).collect();
        for year in years {
            sqlx::query($crate::reports::BUMP_GENERATION)
                .bind(year)
                .execute($conn)
                .await?;
        }
        for (year, insurer) in $groups.iter() {
            sqlx::query("DELETE FROM report_cells WHERE fiscal_year = $1 AND insurer_number = $2")
                .bind(*year)
                .bind(insurer.as_str())
                .execute($conn)
                .await?;
            sqlx::query(sqlx::AssertSqlSafe(fill.clone()))
                .bind(*year)
                .bind(insurer.as_str())
                .execute($conn)
                .await?;
        }
    }};
}
pub(crate) use refresh_groups;

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

    /// Recomputes the kept cells of one insurer's fiscal year (what an import does for each
    /// group it touched; public for the benchmark).
    pub async fn refresh_report_cells_of(
        &self,
        year: i32,
        insurer: &str,
    ) -> Result<(), StoreError> {
        let groups: std::collections::BTreeSet<(i32, String)> =
            std::iter::once((year, insurer.to_owned())).collect();
        crate::on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            refresh_groups!(&mut *tx, groups);
            tx.commit().await?;
        });
        Ok(())
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
                    employer: r.try_get("employer")?,
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
