//! Checkups whose judgements (保健指導レベル, メタボ判定) are missing or were made by a rule set
//! that is no longer the one for their fiscal year, read a page at a time for the caller to
//! judge again (`onshi_checkup::stratify`), and the judgements written back. The store does not
//! judge: it only knows which rule set id each fiscal year should carry.

use time::Date;

use crate::{CheckupJudgement, Store, StoreError};

/// A checkup to judge: who, when, and its numeric and coded items (health data: its `Debug`
/// shows the id only).
#[derive(Clone, PartialEq, Eq)]
pub struct CheckupToJudge {
    /// Its id (every version is judged).
    pub id: String,
    /// 1 male, 2 female.
    pub sex: u8,
    /// 生年月日.
    pub birth_date: Date,
    /// 実施日.
    pub exam_date: Date,
    /// `(item code, value)` of its quantities and codes, in document order.
    pub items: Vec<(String, String)>,
}

impl std::fmt::Debug for CheckupToJudge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckupToJudge")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The rule set each fiscal year should carry: `(first fiscal year, rule set id)`, the first
/// period from any year before it.
pub type RulePeriods<'a> = &'a [(i32, &'a str)];

row_by_name! {
    struct ToJudgeRow {
        id: String,
        sex: i32,
        birth_date: Date,
        exam_date: Date,
    }
}

/// `CASE WHEN fiscal_year >= $k THEN $k+1 … ELSE $1 END`: the id each row should carry, with
/// the periods' parameters from `$2` on (`$1` is the first period's id).
fn expected_rule_set(periods: RulePeriods<'_>) -> String {
    let mut sql = String::from("CASE");
    for (i, _) in periods.iter().enumerate().skip(1).rev() {
        let at = 2 + 2 * (i - 1);
        sql.push_str(&format!(" WHEN fiscal_year >= ${at} THEN ${}", at + 1));
    }
    sql.push_str(" ELSE $1 END");
    sql
}

impl Store {
    /// Up to `limit` checkups after the id `after` (in id order) whose rule set is not the one
    /// `periods` give their fiscal year (or that have none).
    pub async fn checkups_to_judge(
        &self,
        periods: RulePeriods<'_>,
        after: &str,
        limit: u32,
    ) -> Result<Vec<CheckupToJudge>, StoreError> {
        let Some(first) = periods.first() else {
            return Ok(Vec::new());
        };
        let n = 2 + 2 * (periods.len() - 1);
        let sql = format!(
            "SELECT id, sex, birth_date, exam_date FROM checkups \
             WHERE id > ${n} AND COALESCE(rule_set, '') <> ({}) ORDER BY id LIMIT ${}",
            expected_rule_set(periods),
            n + 1
        );
        let rows: Vec<ToJudgeRow> = crate::on_pool!(self, read, |p| {
            // Built from placeholders only: no value is in the text.
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(first.1);
            for (year, id) in &periods[1..] {
                q = q.bind(*year).bind(*id);
            }
            q.bind(after).bind(i64::from(limit)).fetch_all(p).await?
        });
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=rows.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT checkup_id, code, value FROM checkup_observations WHERE checkup_id IN ({}) \
             AND value_kind IN ('PQ', 'CD') AND value IS NOT NULL ORDER BY checkup_id, seq",
            placeholders.join(", ")
        );
        let items: Vec<(String, String, String)> = crate::on_pool!(self, read, |p| {
            // Placeholders only.
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
            for r in &rows {
                q = q.bind(&r.id);
            }
            q.fetch_all(p).await?
        });
        let mut by_id: std::collections::HashMap<String, Vec<(String, String)>> =
            std::collections::HashMap::new();
        for (id, code, value) in items {
            by_id.entry(id).or_default().push((code, value));
        }
        Ok(rows
            .into_iter()
            .map(|r| CheckupToJudge {
                items: by_id.remove(&r.id).unwrap_or_default(),
                id: r.id,
                sex: u8::try_from(r.sex).unwrap_or(0),
                birth_date: r.birth_date,
                exam_date: r.exam_date,
            })
            .collect())
    }

    /// Writes the judgements of checkups, in one transaction. The report cells are not
    /// refreshed here: a run of re-judging writes page after page of the same groups, so it
    /// refreshes them once at its end (`refresh_report_cells`).
    pub async fn set_judgements(
        &self,
        judged: &[(String, CheckupJudgement)],
    ) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE checkups SET rule_set = $1, guidance_level = $2, metabolic = $3, referral = $4, \
             indicators_known = $5, indicators = $6 WHERE id = $7";
        crate::on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            for (id, j) in judged {
                sqlx::query(SQL)
                    .bind(&j.rule_set)
                    .bind(j.guidance_level.as_deref())
                    .bind(&j.metabolic)
                    .bind(j.referral)
                    .bind(j.indicators_known)
                    .bind(j.indicators)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }
}
