//! The aggregates the scoring reports and workplace sheets are computed from: for one fiscal
//! year, each person's latest checkup (aged 40–74 at the year's end, judged), counted by
//! insurer, workplace, sex and five-year age band, with how many have each report indicator
//! known and present (the bit masks of migration 20). No personal data leaves: only counts.
//! The engine (`onshi_checkup::scoring`) masks them before anything is shown.

use crate::{Store, StoreError};

/// People of one insurer, workplace, sex and age band with a judged checkup in the year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportCell {
    /// The insurer.
    pub insurer_number: String,
    /// The workplace's 事業所コード, or `None` for members recorded with none.
    pub employer: Option<String>,
    /// 1 male, 2 female.
    pub sex: u8,
    /// 0 for 40–44, 1 for 45–49, … 6 for 70–74 (age at the end of the fiscal year).
    pub age_band: u8,
    /// How many people.
    pub people: i64,
    /// Per indicator bit (0, 1, …): how many have it known.
    pub known: Vec<i64>,
    /// … and present.
    pub present: Vec<i64>,
}

/// The grouping query, with a pair of sums per indicator bit.
fn cells_sql(indicators: u32) -> String {
    let mut sums = String::new();
    for bit in 0..indicators {
        let mask = 1u32 << bit;
        sums.push_str(&format!(
            ", SUM(CASE WHEN (indicators_known & {mask}) <> 0 THEN 1 ELSE 0 END) AS k{bit}, \
             SUM(CASE WHEN (indicators & {mask}) <> 0 THEN 1 ELSE 0 END) AS p{bit}"
        ));
    }
    format!(
        "WITH ranked AS ( \
           SELECT insurer_number, employer, sex, age_at_fiscal_year_end AS age, indicators_known, \
             indicators, ROW_NUMBER() OVER (PARTITION BY insurer_number, symbol, number, branch \
             ORDER BY exam_date DESC, version DESC, id DESC) AS rn \
           FROM checkups WHERE fiscal_year = $1 AND age_at_fiscal_year_end BETWEEN 40 AND 74 \
             AND rule_set IS NOT NULL \
         ) \
         SELECT insurer_number, employer, sex, (age - 40) / 5 AS band, COUNT(*) AS people{sums} \
         FROM ranked WHERE rn = 1 GROUP BY insurer_number, employer, sex, (age - 40) / 5 \
         ORDER BY insurer_number, employer, sex, band"
    )
}

impl Store {
    /// The report cells of fiscal year `year`, with `indicators` indicator bits (0 to 31).
    pub async fn report_cells(
        &self,
        year: i32,
        indicators: u32,
    ) -> Result<Vec<ReportCell>, StoreError> {
        let indicators = indicators.min(31);
        // Built from numbers only: no value is in the text.
        let sql = cells_sql(indicators);
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
                    insurer_number: r.try_get("insurer_number")?,
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
