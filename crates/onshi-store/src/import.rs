//! Bulk import of an insurer's member file, all or nothing.
//!
//! An [`ImportSession`] is one database transaction. Rows are staged into a temporary table as
//! they are read (so a file of any size streams through), checked as a whole (duplicate card
//! keys), then applied with a few set-based statements: new members are created, members whose
//! content changed get a new version, unchanged members are left alone, so importing the same file
//! twice changes nothing. Dropping the session without [`ImportSession::apply`] rolls everything
//! back.

use sqlx::{AssertSqlSafe, Postgres, Sqlite, Transaction};
use time::OffsetDateTime;

use onshi_domain::{LimitCertificate, LossReason, MemberDetails, MemberKey, PersonRef};

use crate::audit::audit;
use crate::members::new_member_id;
use crate::{Actor, Backend, Store, StoreError};

/// Imports that write at least this many versions refresh the planner's statistics.
const ANALYZE_AFTER: u64 = 10_000;

/// One validated row of a member file, with its line number for error messages.
#[derive(Debug, Clone)]
pub struct StagedRow {
    /// The 1-based line in the file.
    pub line: u64,
    /// The card key.
    pub key: MemberKey,
    /// The content, with `person` already set from the My Number.
    pub details: MemberDetails,
}

/// What an applied import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImportOutcome {
    /// Rows in the file.
    pub rows: u64,
    /// Members that did not exist before.
    pub created: u64,
    /// Existing members that got a new version.
    pub changed: u64,
    /// Rows identical to the member's current version.
    pub unchanged: u64,
}

enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

macro_rules! on_tx {
    ($session:expr, |$tx:ident| $body:expr) => {
        match &mut $session.tx {
            Tx::Sqlite($tx) => $body,
            Tx::Postgres($tx) => $body,
        }
    };
}

/// An import in progress: one open transaction. See the module documentation.
pub struct ImportSession {
    tx: Tx,
    staged: u64,
}

const STAGE_COLUMNS: &str = "line, member_id, insurer_number, symbol, number, branch, name, name_kana, birth_date, \
     sex, relationship, qualified_from, qualified_until, loss_reason, copay_ratio, person_ref, content_hash, \
     limit_certificate";
const STAGE_WIDTH: usize = 18;
/// Rows per INSERT: 18 parameters each stays well under SQLite's 32,766 and PostgreSQL's 65,535.
pub const STAGE_BATCH: usize = 1000;

const SQLITE_STAGE: &str = "DROP TABLE IF EXISTS temp.import_stage; \
    CREATE TEMP TABLE import_stage (line INTEGER NOT NULL, member_id TEXT NOT NULL, insurer_number TEXT NOT NULL, \
    symbol TEXT NOT NULL, number TEXT NOT NULL, branch TEXT NOT NULL, name TEXT NOT NULL, name_kana TEXT NOT NULL, \
    birth_date TEXT NOT NULL, sex INTEGER NOT NULL, relationship INTEGER NOT NULL, qualified_from TEXT NOT NULL, \
    qualified_until TEXT, loss_reason TEXT, copay_ratio INTEGER NOT NULL, person_ref TEXT, content_hash TEXT NOT NULL, \
    limit_certificate TEXT, target_id TEXT, new_version INTEGER)";
const POSTGRES_STAGE: &str = "CREATE TEMP TABLE import_stage (line BIGINT NOT NULL, member_id TEXT NOT NULL, \
    insurer_number TEXT NOT NULL, symbol TEXT NOT NULL, number TEXT NOT NULL, branch TEXT NOT NULL, name TEXT NOT NULL, \
    name_kana TEXT NOT NULL, birth_date DATE NOT NULL, sex INTEGER NOT NULL, relationship INTEGER NOT NULL, \
    qualified_from DATE NOT NULL, qualified_until DATE, loss_reason TEXT, copay_ratio INTEGER NOT NULL, \
    person_ref TEXT, content_hash TEXT NOT NULL, limit_certificate TEXT, target_id TEXT, new_version BIGINT) \
    ON COMMIT DROP";

const KEY_MATCH: &str = "m.insurer_number = import_stage.insurer_number AND m.symbol = import_stage.symbol \
     AND m.number = import_stage.number AND m.branch = import_stage.branch";

/// The staging INSERT for `rows` rows. SQLite gets anonymous `?` placeholders: it resolves each
/// numbered or named parameter by a linear search, which made 17,000-parameter statements
/// quadratic (90% of an import's time in `sqlite3_bind_parameter_name`); anonymous ones are bound
/// by position. PostgreSQL only understands `$N`.
fn stage_sql(rows: usize, numbered: bool) -> String {
    let mut sql = format!("INSERT INTO import_stage ({STAGE_COLUMNS}) VALUES ");
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for c in 0..STAGE_WIDTH {
            if c > 0 {
                sql.push(',');
            }
            if numbered {
                sql.push_str(&format!("${}", r * STAGE_WIDTH + c + 1));
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
    sql
}

impl Store {
    /// Opens an import: a transaction with an empty staging table.
    pub async fn begin_import(&self) -> Result<ImportSession, StoreError> {
        let tx = match &*self.backend {
            Backend::Sqlite { write, .. } => {
                let mut tx = write.begin_with("BEGIN IMMEDIATE").await?;
                sqlx::raw_sql(SQLITE_STAGE).execute(&mut *tx).await?;
                Tx::Sqlite(tx)
            }
            Backend::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::raw_sql(POSTGRES_STAGE).execute(&mut *tx).await?;
                Tx::Postgres(tx)
            }
        };
        Ok(ImportSession { tx, staged: 0 })
    }
}

impl ImportSession {
    /// Stages rows (any number; they are written in batches of [`STAGE_BATCH`]).
    pub async fn stage(&mut self, rows: &[StagedRow]) -> Result<(), StoreError> {
        for chunk in rows.chunks(STAGE_BATCH) {
            let sql = stage_sql(chunk.len(), matches!(self.tx, Tx::Postgres(_)));
            on_tx!(self, |tx| {
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for r in chunk {
                    let d = &r.details;
                    q = q
                        .bind(i64::try_from(r.line).unwrap_or(i64::MAX))
                        .bind(new_member_id())
                        .bind(r.key.insurer.as_str())
                        .bind(r.key.symbol.as_str())
                        .bind(r.key.number.as_str())
                        .bind(r.key.branch.as_str())
                        .bind(&d.name.0)
                        .bind(&d.name_kana.0)
                        .bind(d.birth_date.0)
                        .bind(i32::from(d.sex.code()))
                        .bind(i32::from(d.relationship.code()))
                        .bind(d.qualified_from)
                        .bind(d.qualified_until)
                        .bind(d.loss_reason.map(LossReason::code))
                        .bind(i32::from(d.copay_ratio.percent()))
                        .bind(d.person.as_ref().map(PersonRef::as_str))
                        .bind(d.content_hash())
                        .bind(d.limit.as_ref().map(LimitCertificate::to_stored));
                }
                q.execute(&mut **tx).await?;
            });
            self.staged += chunk.len() as u64;
        }
        Ok(())
    }

    /// Rows whose card key repeats an earlier row's, as (line, earlier line), in line order.
    pub async fn duplicates(&mut self) -> Result<Vec<(u64, u64)>, StoreError> {
        let rows: Vec<(i64, i64)> = on_tx!(self, |tx| {
            sqlx::query_as(
            "SELECT MAX(line), MIN(line) FROM import_stage GROUP BY insurer_number, symbol, number, branch \
             HAVING COUNT(*) > 1 ORDER BY 2 LIMIT 1000"
        )
        .fetch_all(&mut **tx)
        .await?
        });
        Ok(rows
            .into_iter()
            .map(|(a, b)| (a as u64, b as u64))
            .collect())
    }

    /// Applies the staged rows and commits. On any error nothing is written.
    pub async fn apply(
        mut self,
        actor: &Actor,
        at: OffsetDateTime,
    ) -> Result<ImportOutcome, StoreError> {
        let rows = self.staged;
        let postgres = matches!(self.tx, Tx::Postgres(_));
        let (created, versions) = on_tx!(self, |tx| {
            // 1. Rows of existing members learn their member and next version number.
            sqlx::query(AssertSqlSafe(format!(
                "UPDATE import_stage SET target_id = m.id, new_version = m.current_version + 1 FROM members m WHERE {KEY_MATCH}"
            )))
            .execute(&mut **tx)
            .await?;
            // 2. Rows identical to their member's current version are done.
            sqlx::query(
                "DELETE FROM import_stage WHERE target_id IS NOT NULL AND EXISTS (SELECT 1 FROM member_versions v \
                 WHERE v.member_id = import_stage.target_id AND v.version = import_stage.new_version - 1 \
                 AND v.content_hash = import_stage.content_hash)",
            )
            .execute(&mut **tx)
            .await?;
            // 3. New members are created at version 1 (no second pass over them).
            let created = sqlx::query(
                "INSERT INTO members (id, insurer_number, symbol, number, branch, current_version, created_at) \
                 SELECT member_id, insurer_number, symbol, number, branch, 1, $1 FROM import_stage WHERE target_id IS NULL",
            )
            .bind(at)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            // 4. Every remaining row is a version: version 1 of a new member, or the next one.
            let versions = sqlx::query(
                "INSERT INTO member_versions (member_id, version, recorded_at, source, name, name_kana, birth_date, sex, \
                 relationship, qualified_from, qualified_until, loss_reason, copay_ratio, person_ref, content_hash, \
                 limit_certificate) \
                 SELECT COALESCE(target_id, member_id), COALESCE(new_version, 1), $1, 'import', name, name_kana, \
                 birth_date, sex, relationship, qualified_from, qualified_until, loss_reason, copay_ratio, person_ref, \
                 content_hash, limit_certificate FROM import_stage",
            )
            .bind(at)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            // 5. Changed members point at their new version.
            sqlx::query(
                "UPDATE members SET current_version = s.new_version FROM import_stage s WHERE members.id = s.target_id",
            )
            .execute(&mut **tx)
            .await?;
            let detail = format!(
                "{rows} rows: {created} created, {} changed",
                versions - created
            );
            audit!(&mut **tx, at, actor, "import", &[], None, Some(detail));
            // A large import changes the tables' shape faster than autovacuum notices: without
            // fresh statistics PostgreSQL planned the check queries of a just-loaded registry of
            // a million members as scans (1,800 checks/s instead of 6,000 until autovacuum caught
            // up). Refresh them with the import, inside its transaction. (PostgreSQL samples;
            // SQLite's ANALYZE reads every row and index, and its planner needs no statistics
            // for these equality look-ups.)
            if versions >= ANALYZE_AFTER && postgres {
                sqlx::query("ANALYZE members").execute(&mut **tx).await?;
                sqlx::query("ANALYZE member_versions")
                    .execute(&mut **tx)
                    .await?;
            }
            (created, versions)
        });
        match self.tx {
            Tx::Sqlite(mut tx) => {
                // SQLite has no ON COMMIT DROP: drop the staging table with the transaction.
                sqlx::query("DROP TABLE temp.import_stage")
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?
            }
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(ImportOutcome {
            rows,
            created,
            changed: versions - created,
            unchanged: rows - versions,
        })
    }
}
