//! The log of checkup imports (migration 18): one row per archive or CSV file sent, imported
//! or refused, for the insurer's console. Written after the import's own transaction (a refused
//! import rolls back everything else), without personal data.

use time::OffsetDateTime;

use crate::compared_time::ComparedTime;
use crate::{Actor, Store, StoreError};

/// One import as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRecord {
    /// When.
    pub at: OffsetDateTime,
    /// The receiving insurer, when known.
    pub insurer_number: Option<String>,
    /// Who sent it (`insurer`, `employer`, `institution`, `operator`).
    pub actor_kind: String,
    /// Which of them.
    pub actor_id: String,
    /// The archive's or file's name.
    pub source: String,
    /// Whether it was imported (or refused whole).
    pub imported: bool,
    /// Documents or rows in it (0 when refused).
    pub documents: i64,
    /// New checkups linked to members.
    pub linked: i64,
    /// New checkups left to match.
    pub to_match: i64,
    /// New versions of stored checkups.
    pub corrected: i64,
    /// Documents already stored.
    pub unchanged: i64,
    /// How many problems refused it.
    pub problems: i64,
    /// The first of them, one a line.
    pub first_problems: String,
}

row_by_name! {
    struct ImportRow {
        at: OffsetDateTime,
        insurer_number: Option<String>,
        actor_kind: String,
        actor_id: String,
        source: String,
        imported: bool,
        documents: i64,
        linked: i64,
        to_match: i64,
        corrected: i64,
        unchanged: i64,
        problems: i64,
        first_problems: String,
    }
}

impl Store {
    /// Logs an import by `actor` (its counts, or its problems when refused).
    pub async fn log_import(&self, actor: &Actor, r: &ImportRecord) -> Result<(), StoreError> {
        let id = crate::members::new_member_id();
        crate::on_pool!(self, write, |p| {
            sqlx::query(
                "INSERT INTO import_log (id, at, insurer_number, actor_kind, actor_id, source, imported, documents, \
                 linked, to_match, corrected, unchanged, problems, first_problems) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            )
            .bind(&id)
            .bind(ComparedTime(r.at))
            .bind(r.insurer_number.as_deref())
            .bind(actor.kind())
            .bind(actor.id())
            .bind(&r.source)
            .bind(r.imported)
            .bind(r.documents)
            .bind(r.linked)
            .bind(r.to_match)
            .bind(r.corrected)
            .bind(r.unchanged)
            .bind(r.problems)
            .bind(&r.first_problems)
            .execute(p)
            .await?;
        });
        Ok(())
    }

    /// `insurer`'s imports since `since`, newest first.
    pub async fn imports_of(
        &self,
        insurer: &onshi_domain::InsurerNumber,
        since: OffsetDateTime,
    ) -> Result<Vec<ImportRecord>, StoreError> {
        let rows: Vec<ImportRow> = crate::on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT at, insurer_number, actor_kind, actor_id, source, imported, documents, linked, to_match, \
                 corrected, unchanged, problems, first_problems FROM import_log \
                 WHERE insurer_number = $1 AND at >= $2 ORDER BY at DESC, id",
            )
            .bind(insurer.as_str())
            .bind(ComparedTime(since))
            .fetch_all(p)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| ImportRecord {
                at: r.at,
                insurer_number: r.insurer_number,
                actor_kind: r.actor_kind,
                actor_id: r.actor_id,
                source: r.source,
                imported: r.imported,
                documents: r.documents,
                linked: r.linked,
                to_match: r.to_match,
                corrected: r.corrected,
                unchanged: r.unchanged,
                problems: r.problems,
                first_problems: r.first_problems,
            })
            .collect())
    }
}
