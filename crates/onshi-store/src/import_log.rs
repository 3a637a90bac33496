//! The log of imports (migrations 18 and 19): one row per checkup archive or CSV file sent, and
//! per member file for each insurer it names, imported or refused, for the insurer's console. Written after the import's own transaction (a refused
//! import rolls back everything else), without personal data.

use time::OffsetDateTime;

use crate::compared_time::ComparedTime;
use crate::{Actor, Store, StoreError};

/// What kind of file an import was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    /// Checkup results: a standard-format archive or an employer's CSV.
    Checkups,
    /// An insurer's member file (`onshi import members`).
    Members,
}

impl ImportKind {
    fn as_str(self) -> &'static str {
        match self {
            ImportKind::Checkups => "checkups",
            ImportKind::Members => "members",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "checkups" => Ok(ImportKind::Checkups),
            "members" => Ok(ImportKind::Members),
            other => Err(StoreError::Corrupt(format!("import_log.kind {other:?}"))),
        }
    }
}

/// One import as logged. The counts that do not apply to its kind are 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRecord {
    /// When.
    pub at: OffsetDateTime,
    /// Checkups or members.
    pub kind: ImportKind,
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
    /// Members created (member files).
    pub created: i64,
    /// Members given a new version (member files).
    pub changed: i64,
    /// New checkups linked to members.
    pub linked: i64,
    /// New checkups left to match.
    pub to_match: i64,
    /// New versions of stored checkups.
    pub corrected: i64,
    /// Documents already stored, or member rows equal to the current version.
    pub unchanged: i64,
    /// How many problems refused it.
    pub problems: i64,
    /// The first of them, one a line.
    pub first_problems: String,
}

impl ImportRecord {
    /// A record of a `kind` import of `source` at `at`, refused with no problems counted yet
    /// (the caller fills in what happened). The actor is the one given to
    /// [`Store::log_import`].
    pub fn new(kind: ImportKind, at: OffsetDateTime, source: &str) -> Self {
        ImportRecord {
            at,
            kind,
            insurer_number: None,
            actor_kind: String::new(),
            actor_id: String::new(),
            source: source.to_owned(),
            imported: false,
            documents: 0,
            created: 0,
            changed: 0,
            linked: 0,
            to_match: 0,
            corrected: 0,
            unchanged: 0,
            problems: 0,
            first_problems: String::new(),
        }
    }
}

row_by_name! {
    struct ImportRow {
        at: OffsetDateTime,
        kind: String,
        insurer_number: Option<String>,
        actor_kind: String,
        actor_id: String,
        source: String,
        imported: bool,
        documents: i64,
        created: i64,
        changed: i64,
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
                "INSERT INTO import_log (id, at, kind, insurer_number, actor_kind, actor_id, source, imported, \
                 documents, created, changed, linked, to_match, corrected, unchanged, problems, first_problems) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
            )
            .bind(&id)
            .bind(ComparedTime(r.at))
            .bind(r.kind.as_str())
            .bind(r.insurer_number.as_deref())
            .bind(actor.kind())
            .bind(actor.id())
            .bind(&r.source)
            .bind(r.imported)
            .bind(r.documents)
            .bind(r.created)
            .bind(r.changed)
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
                "SELECT at, kind, insurer_number, actor_kind, actor_id, source, imported, documents, created, \
                 changed, linked, to_match, corrected, unchanged, problems, first_problems FROM import_log \
                 WHERE insurer_number = $1 AND at >= $2 ORDER BY at DESC, id",
            )
            .bind(insurer.as_str())
            .bind(ComparedTime(since))
            .fetch_all(p)
            .await?
        });
        rows.into_iter()
            .map(|r| {
                Ok(ImportRecord {
                    at: r.at,
                    kind: ImportKind::parse(&r.kind)?,
                    insurer_number: r.insurer_number,
                    actor_kind: r.actor_kind,
                    actor_id: r.actor_id,
                    source: r.source,
                    imported: r.imported,
                    documents: r.documents,
                    created: r.created,
                    changed: r.changed,
                    linked: r.linked,
                    to_match: r.to_match,
                    corrected: r.corrected,
                    unchanged: r.unchanged,
                    problems: r.problems,
                    first_problems: r.first_problems,
                })
            })
            .collect()
    }
}
