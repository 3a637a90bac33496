//! Bulk import of an insurer's member file, all or nothing.
//!
//! An [`ImportSession`] is one database transaction. Rows are staged into a temporary table as
//! they are read (so a file of any size streams through), checked as a whole (duplicate card
//! keys), then applied with a few set-based statements: new members are created, members whose
//! content changed get a new version, unchanged members are left alone, so importing the same file
//! twice changes nothing. Dropping the session without [`ImportSession::apply`] rolls everything
//! back.
//!
//! PostgreSQL takes the staged rows by `COPY`. A large first import into an empty PostgreSQL
//! registry is an initial load: the member tables are locked, written without their indexes and
//! foreign keys, and indexed at the end (see [`initial_load`]).

use onshi_domain::AuditAction;
use std::hash::{DefaultHasher, Hash, Hasher};

use sqlx::{AssertSqlSafe, Postgres, Transaction};
use time::OffsetDateTime;

use onshi_domain::{
    EmployerCode, LimitCertificate, LossReason, MemberDetails, MemberKey, PersonRef,
};

use crate::audit::audit;
use crate::members::new_member_id;
use crate::{Actor, Backend, Store, StoreError, Tx, on_tx};

/// Imports that write at least this many versions refresh the planner's statistics.
const ANALYZE_AFTER: u64 = 10_000;

/// Logs how long each step of an apply took: on a registry of millions the apply is minutes of
/// work after the last row is read, and the steps' times show where (no row content is logged).
struct Step(std::time::Instant);

impl Step {
    fn start() -> Self {
        Self(std::time::Instant::now())
    }

    fn done(&mut self, what: &'static str) {
        let now = std::time::Instant::now();
        tracing::info!(
            step = what,
            seconds = (now - self.0).as_secs_f64(),
            "import apply"
        );
        self.0 = now;
    }
}

/// One validated row of a member file, with its line number for error messages.
#[derive(Debug, Clone)]
pub struct StagedRow {
    /// The 1-based line in the file.
    pub line: u64,
    /// The card key.
    pub key: MemberKey,
    /// The content, with `person` already set from the My Number.
    pub details: MemberDetails,
    content_hash: String,
}

impl StagedRow {
    /// A row to stage. Its content hash is computed here, on the caller's thread (the import
    /// reads and validates on a thread of its own, which keeps it off the database's).
    pub fn new(line: u64, key: MemberKey, details: MemberDetails) -> Self {
        let content_hash = details.content_hash();
        Self {
            line,
            key,
            details,
            content_hash,
        }
    }
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
    /// Whether it was a PostgreSQL initial load (see [`initial_load`]).
    pub initial_load: bool,
}

/// An import in progress: one open transaction. See the module documentation.
pub struct ImportSession {
    tx: Tx,
    staged: u64,
    /// Whether the staged rows were prepared for checking (no more rows may come).
    prepared: bool,
    /// An initial load in progress (PostgreSQL): the statements that build the member tables'
    /// indexes and foreign keys again (see [`initial_load`]).
    rebuild: Option<Vec<String>>,
    /// PostgreSQL: a 64-bit hash of every staged card key. An initial load's rows are never
    /// sorted, and finding repeats in SQL took 16 s of a 10 M-row load (hashing the keys there,
    /// spilling to disk); here they are 8-byte values collected as the rows stream past (80 MB
    /// at 10 M rows) and sorted once, when the rows are checked: `repeated_hash` keeps whether
    /// two were equal. Only when two hashes meet does SQL look for the repeated lines.
    key_hashes: Vec<u64>,
    repeated_hash: Option<bool>,
    step: Step,
}

const STAGE_COLUMNS: &str = "line, insurer_number, symbol, number, branch, name, name_kana, birth_date, \
     sex, relationship, qualified_from, qualified_until, loss_reason, copay_ratio, person_ref, content_hash, \
     limit_certificate, card_details, employer";
const STAGE_WIDTH: usize = 19;
/// Rows per staging INSERT on SQLite: 19 parameters each stays well under its 32,766.
pub const STAGE_BATCH: usize = 1000;

const SQLITE_STAGE: &str = "DROP TABLE IF EXISTS temp.import_stage; DROP TABLE IF EXISTS temp.import_sorted; \
    CREATE TEMP TABLE import_stage (line INTEGER NOT NULL, insurer_number TEXT NOT NULL, \
    symbol TEXT NOT NULL, number TEXT NOT NULL, branch TEXT NOT NULL, name TEXT NOT NULL, name_kana TEXT NOT NULL, \
    birth_date TEXT NOT NULL, sex INTEGER NOT NULL, relationship INTEGER NOT NULL, qualified_from TEXT NOT NULL, \
    qualified_until TEXT, loss_reason TEXT, copay_ratio INTEGER NOT NULL, person_ref TEXT, content_hash TEXT NOT NULL, \
    limit_certificate TEXT, card_details TEXT, employer TEXT)";
/// Text in the "C" collation, as in the registry's tables (migration 8), so that joins and sorts
/// on the staged keys compare bytes and can use the registry's indexes.
const POSTGRES_STAGE: &str = "CREATE TEMP TABLE import_stage (line BIGINT NOT NULL, \
    insurer_number TEXT COLLATE \"C\" NOT NULL, symbol TEXT COLLATE \"C\" NOT NULL, number TEXT COLLATE \"C\" NOT NULL, \
    branch TEXT COLLATE \"C\" NOT NULL, name TEXT COLLATE \"C\" NOT NULL, name_kana TEXT COLLATE \"C\" NOT NULL, \
    birth_date DATE NOT NULL, sex INTEGER NOT NULL, relationship INTEGER NOT NULL, qualified_from DATE NOT NULL, \
    qualified_until DATE, loss_reason TEXT COLLATE \"C\", copay_ratio INTEGER NOT NULL, person_ref TEXT COLLATE \"C\", \
    content_hash TEXT COLLATE \"C\" NOT NULL, limit_certificate TEXT COLLATE \"C\", \
    card_details TEXT COLLATE \"C\", employer TEXT COLLATE \"C\") ON COMMIT DROP";

/// The staged rows in card-key order, each with its place in that order: on SQLite the rowid
/// (rows are inserted in that order); on PostgreSQL `seq`, numbered in the same sort that also
/// finds each row's predecessor with the same key (`repeats`).
const SQLITE_SORT: &str = "CREATE TEMP TABLE import_sorted AS \
    SELECT *, NULL AS target_id, NULL AS new_version FROM import_stage \
    ORDER BY insurer_number, symbol, number, branch, line; \
    DROP TABLE import_stage";
const POSTGRES_SORT: &str = "CREATE TEMP TABLE import_sorted ON COMMIT DROP AS \
    SELECT row_number() OVER (ORDER BY insurer_number, symbol, number, branch, line) AS seq, \
    lag(line) OVER (PARTITION BY insurer_number, symbol, number, branch ORDER BY line) AS repeats, s.*, \
    NULL::text COLLATE \"C\" AS target_id, NULL::bigint AS new_version FROM import_stage s; \
    DROP TABLE import_stage";

/// Each row that repeats the card key of an earlier row, with that row's line.
const SQLITE_DUPLICATES: &str = "SELECT b.line, a.line FROM import_sorted a JOIN import_sorted b ON b.rowid = a.rowid + 1 \
    WHERE b.insurer_number = a.insurer_number AND b.symbol = a.symbol AND b.number = a.number \
    AND b.branch = a.branch ORDER BY b.line LIMIT 1000";
const POSTGRES_DUPLICATES: &str =
    "SELECT line, repeats FROM import_sorted WHERE repeats IS NOT NULL ORDER BY line LIMIT 1000";
/// The same for rows left unsorted (an initial load): the repeated keys are found by hashing the
/// keys alone, and only their rows are sorted (2.2 s for 2 M rows, where sorting them all whole
/// took 8).
const POSTGRES_UNSORTED_DUPLICATES: &str = "WITH repeated AS (SELECT insurer_number, symbol, number, branch \
    FROM import_stage GROUP BY insurer_number, symbol, number, branch HAVING count(*) > 1) \
    SELECT line, repeats FROM (SELECT s.line, lag(s.line) OVER (PARTITION BY s.insurer_number, s.symbol, \
    s.number, s.branch ORDER BY s.line) AS repeats FROM import_stage s \
    JOIN repeated USING (insurer_number, symbol, number, branch)) r \
    WHERE repeats IS NOT NULL ORDER BY line LIMIT 1000";

const KEY_MATCH: &str = "m.insurer_number = import_sorted.insurer_number AND m.symbol = import_sorted.symbol \
     AND m.number = import_sorted.number AND m.branch = import_sorted.branch";

/// Imports at least this large, and at least as large as the registry's versions so far, drop
/// the person index of `member_versions` and build it again afterwards on SQLite.
const REBUILD_PERSON_INDEX_AT: u64 = 10_000;

/// The first 24 characters (`xxxxxxxx-xxxx-7xxx-yxxx-`) of a fresh UUIDv7: an import's new
/// members get this prefix followed by their place in card-key order as 12 hex digits, which is
/// still a UUIDv7 (RFC 9562 allows a counter in the random bits). Their ids then rise with their
/// card keys, so inserting in card-key order appends to every index on `members` instead of
/// writing at random places in two of them. (A PostgreSQL initial load, which builds its indexes
/// afterwards, counts by line instead: see [`load_initial`].)
fn id_prefix() -> String {
    let mut id = new_member_id();
    id.truncate(24);
    id
}

/// The staging INSERT for `rows` rows. SQLite gets anonymous `?` placeholders: it resolves each
/// numbered or named parameter by a linear search, which made 17,000-parameter statements
/// quadratic (90% of an import's time in `sqlite3_bind_parameter_name`); anonymous ones are bound
/// by position. (PostgreSQL stages by COPY.)
fn stage_sql(rows: usize) -> String {
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
            sql.push('?');
        }
        sql.push(')');
    }
    sql
}

/// Appends `value` as a COPY text-format column: backslash, tab, newline and carriage return
/// escaped.
pub(crate) fn copy_text(out: &mut Vec<u8>, value: &str) {
    for b in value.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

/// Appends an optional COPY text-format column (`\N` for NULL).
pub(crate) fn copy_opt_text(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        Some(v) => copy_text(out, v),
        None => out.extend_from_slice(b"\\N"),
    }
}

/// Appends one row in COPY's text format: columns separated by tabs, `\N` for NULL, and
/// backslash, tab, newline and carriage return escaped in text.
fn copy_row(out: &mut Vec<u8>, r: &StagedRow) {
    use copy_opt_text as opt_text;
    use copy_text as text;
    use std::io::Write as _;
    fn date(out: &mut Vec<u8>, d: Option<time::Date>) {
        // Writing into a Vec cannot fail.
        let _ = match d {
            Some(d) => write!(
                out,
                "{:04}-{:02}-{:02}",
                d.year(),
                u8::from(d.month()),
                d.day()
            ),
            None => out.write_all(b"\\N"),
        };
    }
    let d = &r.details;
    let _ = write!(out, "{}", r.line);
    for part in [
        r.key.insurer.as_str(),
        r.key.symbol.as_str(),
        r.key.number.as_str(),
        r.key.branch.as_str(),
        &d.name.0,
        &d.name_kana.0,
    ] {
        out.push(b'\t');
        text(out, part);
    }
    out.push(b'\t');
    date(out, Some(d.birth_date.0));
    let _ = write!(out, "\t{}\t{}\t", d.sex.code(), d.relationship.code());
    date(out, Some(d.qualified_from));
    out.push(b'\t');
    date(out, d.qualified_until);
    out.push(b'\t');
    opt_text(out, d.loss_reason.map(LossReason::code));
    let _ = write!(out, "\t{}\t", d.copay_ratio.percent());
    opt_text(out, d.person.as_ref().map(PersonRef::as_str));
    out.push(b'\t');
    text(out, &r.content_hash);
    out.push(b'\t');
    opt_text(
        out,
        d.limit.as_ref().map(LimitCertificate::to_stored).as_deref(),
    );
    out.push(b'\t');
    opt_text(
        out,
        (!d.card.is_empty()).then(|| d.card.to_stored()).as_deref(),
    );
    out.push(b'\t');
    opt_text(out, d.employer.as_ref().map(EmployerCode::as_str));
    out.push(b'\n');
}

/// Imports at least this large into an empty PostgreSQL registry load without indexes and
/// foreign keys (see [`initial_load`]); smaller ones are not worth locking the tables for.
const INITIAL_LOAD_AT: u64 = 10_000;

/// The member tables' indexes and constraints that an initial load drops, with the statement
/// that makes each again, in the order to make them: primary keys and unique constraints, then
/// plain indexes, then foreign keys. A unique index that a foreign key of some other table
/// depends on stays. Read from the catalog, so whatever the migrations made is what is rebuilt.
const POSTGRES_MEMBER_SCHEMA: &str = "WITH t(oid) AS (VALUES ('members'::regclass), ('member_versions'::regclass)) \
    SELECT 1 AS pass, format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname), \
           format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid)) \
      FROM pg_constraint c WHERE c.conrelid IN (SELECT oid FROM t) AND c.contype IN ('p', 'u') \
       AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid \
                        AND f.conrelid NOT IN (SELECT oid FROM t)) \
    UNION ALL \
    SELECT 2, format('DROP INDEX %s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid) \
      FROM pg_index i WHERE i.indrelid IN (SELECT oid FROM t) \
       AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x')) \
    UNION ALL \
    SELECT 3, format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname), \
           format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid)) \
      FROM pg_constraint c WHERE c.conrelid IN (SELECT oid FROM t) AND c.contype = 'f' \
    ORDER BY 1, 2";

/// The initial load (PostgreSQL only): when a large import finds the registry empty, it locks
/// `members` and `member_versions` until it commits, drops their indexes and foreign keys, and
/// returns the statements that build them again after the rows are in. One sort per index
/// instead of an index insert per row (the person index's keys are hashes, so each insert lands
/// at a random place), and one join per foreign key instead of a trigger per row: the apply of
/// 2 M rows took 16 s instead of 42 in the experiment that chose this. Checks meanwhile wait
/// for the lock, where they would have found nobody; every later import, with members there
/// to be read, keeps the tables open and its indexes as they are.
///
/// Returns `None`, having changed nothing, when the import is small or the registry holds any
/// member. Everything happens inside the import's transaction, so a failed load leaves the
/// schema as it was.
async fn initial_load(
    tx: &mut Transaction<'static, Postgres>,
    rows: u64,
) -> Result<Option<Vec<String>>, StoreError> {
    const ANY_MEMBER: &str = "SELECT EXISTS (SELECT 1 FROM members)";
    if rows < INITIAL_LOAD_AT
        || sqlx::query_scalar::<_, bool>(ANY_MEMBER)
            .fetch_one(&mut **tx)
            .await?
    {
        return Ok(None);
    }
    // Another import may have loaded members between that look and the lock: look again.
    sqlx::raw_sql("LOCK TABLE members, member_versions IN ACCESS EXCLUSIVE MODE")
        .execute(&mut **tx)
        .await?;
    if sqlx::query_scalar::<_, bool>(ANY_MEMBER)
        .fetch_one(&mut **tx)
        .await?
    {
        return Ok(None);
    }
    tracing::info!("initial load: member tables locked and built without indexes until the commit");
    let schema: Vec<(i32, String, String)> = sqlx::query_as(POSTGRES_MEMBER_SCHEMA)
        .fetch_all(&mut **tx)
        .await?;
    // Dropped in the reverse order: foreign keys before the keys they reference.
    for (_, drop, _) in schema.iter().rev() {
        sqlx::raw_sql(AssertSqlSafe(drop.clone()))
            .execute(&mut **tx)
            .await?;
    }
    // Index builds sort in memory up to this much (the setting ends with the transaction).
    sqlx::raw_sql("SET LOCAL maintenance_work_mem = '512MB'")
        .execute(&mut **tx)
        .await?;
    Ok(Some(schema.into_iter().map(|(_, _, make)| make).collect()))
}

/// The initial load's writes: every staged row is a new member at version 1. A member's id is
/// the import's prefix and the row's line (unique in the file), since the rows are not sorted.
async fn load_initial(
    tx: &mut Transaction<'static, Postgres>,
    at: OffsetDateTime,
    prefix: &str,
    step: &mut Step,
) -> Result<(), StoreError> {
    const NEW_ID: &str = "$2 || lpad(to_hex(line), 12, '0')";
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO members (id, insurer_number, symbol, number, branch, current_version, created_at) \
         SELECT {NEW_ID}, insurer_number, symbol, number, branch, 1, $1 FROM import_stage"
    )))
    .bind(at)
    .bind(prefix)
    .execute(&mut **tx)
    .await?;
    step.done("created members");
    sqlx::query(AssertSqlSafe(format!(
        concat!(
            "INSERT INTO member_versions (member_id, version, recorded_at, source, ",
            version_columns!(),
            ") SELECT {NEW_ID}, 1, $1, 'import', ",
            version_columns!(),
            " FROM import_stage"
        ),
        NEW_ID = NEW_ID
    )))
    .bind(at)
    .bind(prefix)
    .execute(&mut **tx)
    .await?;
    step.done("inserted versions");
    Ok(())
}

/// A large import changes the tables' shape faster than autovacuum notices: without fresh
/// statistics PostgreSQL planned the check queries of a just-loaded registry of a million
/// members as scans (1,800 checks/s instead of 6,000 until autovacuum caught up). Refresh them
/// with the import, inside its transaction. (PostgreSQL samples; SQLite's ANALYZE reads every
/// row and index, and its planner needs no statistics for these equality look-ups.)
async fn analyze(
    tx: &mut Transaction<'static, Postgres>,
    versions: u64,
    step: &mut Step,
) -> Result<(), StoreError> {
    if versions >= ANALYZE_AFTER {
        sqlx::query("ANALYZE members").execute(&mut **tx).await?;
        sqlx::query("ANALYZE member_versions")
            .execute(&mut **tx)
            .await?;
        step.done("analyzed");
    }
    Ok(())
}

impl Store {
    /// Opens an import: a transaction with an empty staging table.
    pub async fn begin_import(&self) -> Result<ImportSession, StoreError> {
        let tx = match &*self.backend {
            Backend::Sqlite { write, .. } => {
                let mut tx = write.begin_with("BEGIN IMMEDIATE").await?;
                // SQLite sorts (the card-key order, the person index) on one thread unless it is
                // allowed helpers: with one per core, a 10 M-row import sorted in 24 s, not 39.
                let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
                sqlx::raw_sql(AssertSqlSafe(format!("PRAGMA threads = {threads}")))
                    .execute(&mut *tx)
                    .await?;
                sqlx::raw_sql(SQLITE_STAGE).execute(&mut *tx).await?;
                Tx::Sqlite(tx)
            }
            Backend::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                // The sort by card key spills to disk at the default 4 MB; this transaction may
                // use more (the setting ends with it).
                sqlx::raw_sql("SET LOCAL work_mem = '64MB'")
                    .execute(&mut *tx)
                    .await?;
                sqlx::raw_sql(POSTGRES_STAGE).execute(&mut *tx).await?;
                Tx::Postgres(tx)
            }
        };
        Ok(ImportSession {
            tx,
            staged: 0,
            prepared: false,
            rebuild: None,
            key_hashes: Vec::new(),
            repeated_hash: None,
            step: Step::start(),
        })
    }
}

impl ImportSession {
    /// Stages rows (any number: on SQLite in INSERTs of [`STAGE_BATCH`] rows, on PostgreSQL as
    /// one COPY).
    pub async fn stage(&mut self, rows: &[StagedRow]) -> Result<(), StoreError> {
        if self.prepared {
            return Err(StoreError::Incompatible(
                "rows were staged after the import was checked".into(),
            ));
        }
        let tx = match &mut self.tx {
            Tx::Postgres(tx) => {
                // PostgreSQL takes the rows by COPY (text format, see `copy_row`): a
                // 17,000-parameter INSERT spends its time binding and planning.
                let mut data = Vec::with_capacity(rows.len() * 256);
                for r in rows {
                    copy_row(&mut data, r);
                    let mut h = DefaultHasher::new();
                    (
                        r.key.insurer.as_str(),
                        r.key.symbol.as_str(),
                        r.key.number.as_str(),
                        r.key.branch.as_str(),
                    )
                        .hash(&mut h);
                    self.key_hashes.push(h.finish());
                }
                let mut copy = tx
                    .copy_in_raw(&format!("COPY import_stage ({STAGE_COLUMNS}) FROM STDIN"))
                    .await?;
                copy.send(data).await?;
                copy.finish().await?;
                self.staged += rows.len() as u64;
                return Ok(());
            }
            Tx::Sqlite(tx) => tx,
        };
        for chunk in rows.chunks(STAGE_BATCH) {
            let sql = stage_sql(chunk.len());
            {
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for r in chunk {
                    let d = &r.details;
                    q = q
                        .bind(i64::try_from(r.line).unwrap_or(i64::MAX))
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
                        .bind(&r.content_hash)
                        .bind(d.limit.as_ref().map(LimitCertificate::to_stored))
                        .bind((!d.card.is_empty()).then(|| d.card.to_stored()))
                        .bind(d.employer.as_ref().map(EmployerCode::as_str));
                }
                q.execute(&mut **tx).await?;
            }
            self.staged += chunk.len() as u64;
        }
        Ok(())
    }

    /// Prepares the staged rows for the checks and the apply, once. Usually that is sorting them
    /// by card key: the duplicate check reads neighbours in that order and the apply writes in
    /// it. A PostgreSQL initial load (see [`initial_load`]) builds its indexes after the rows
    /// are in, so it needs no order and leaves the rows as staged.
    async fn prepare(&mut self) -> Result<(), StoreError> {
        if self.prepared {
            return Ok(());
        }
        self.step.done("staged rows");
        match &mut self.tx {
            Tx::Sqlite(tx) => {
                sqlx::raw_sql(SQLITE_SORT).execute(&mut **tx).await?;
                self.step.done("sorted by card key");
            }
            Tx::Postgres(tx) => {
                self.rebuild = initial_load(tx, self.staged).await?;
                if self.rebuild.is_some() {
                    self.step.done("locked and unindexed the member tables");
                } else {
                    sqlx::raw_sql(POSTGRES_SORT).execute(&mut **tx).await?;
                    self.step.done("sorted by card key");
                }
            }
        }
        self.prepared = true;
        Ok(())
    }

    /// Whether this import is a PostgreSQL initial load, holding the member tables until it ends
    /// (known once the rows were checked: see [`initial_load`]).
    pub fn is_initial_load(&self) -> bool {
        self.rebuild.is_some()
    }

    /// Rows whose card key repeats an earlier row's, as (line, earlier line), in line order (at
    /// most 1,000). Three rows with one key give two pairs, each naming the row before it.
    pub async fn duplicates(&mut self) -> Result<Vec<(u64, u64)>, StoreError> {
        self.prepare().await?;
        let initial = self.rebuild.is_some();
        let repeated_hash = match self.repeated_hash {
            Some(repeated) => repeated,
            None => {
                // Sorted once, then freed: no row can be staged after the check.
                let mut hashes = std::mem::take(&mut self.key_hashes);
                hashes.sort_unstable();
                let repeated = hashes.windows(2).any(|w| w[0] == w[1]);
                self.repeated_hash = Some(repeated);
                repeated
            }
        };
        let rows: Vec<(i64, i64)> = match &mut self.tx {
            Tx::Sqlite(tx) => {
                sqlx::query_as(SQLITE_DUPLICATES)
                    .fetch_all(&mut **tx)
                    .await?
            }
            // No two keys hashed alike, so no key came twice.
            Tx::Postgres(_) if !repeated_hash => Vec::new(),
            Tx::Postgres(tx) => {
                let sql = if initial {
                    POSTGRES_UNSORTED_DUPLICATES
                } else {
                    POSTGRES_DUPLICATES
                };
                sqlx::query_as(sql).fetch_all(&mut **tx).await?
            }
        };
        self.step.done("checked for duplicate card keys");
        Ok(rows
            .into_iter()
            .map(|(a, b)| (a as u64, b as u64))
            .collect())
    }

    /// Applies the staged rows and commits. On any error nothing is written. Rows are written
    /// in card-key order, so that new members' ids (see [`id_prefix`]) and card keys both rise
    /// and the indexes on `members` and the versions' primary key are appended to. A PostgreSQL
    /// initial load (see [`initial_load`]) writes the rows as staged and indexes them after.
    pub async fn apply(
        mut self,
        actor: &Actor,
        at: OffsetDateTime,
    ) -> Result<ImportOutcome, StoreError> {
        self.prepare().await?;
        let rows = self.staged;
        let prefix = id_prefix();
        if let (Some(rebuild), Tx::Postgres(tx)) = (self.rebuild.take(), &mut self.tx) {
            load_initial(tx, at, &prefix, &mut self.step).await?;
            for statement in rebuild {
                sqlx::raw_sql(AssertSqlSafe(statement))
                    .execute(&mut **tx)
                    .await?;
            }
            self.step.done("built indexes and foreign keys");
            analyze(tx, rows, &mut self.step).await?;
            return self
                .commit(
                    actor,
                    at,
                    ImportOutcome {
                        rows,
                        created: rows,
                        changed: 0,
                        unchanged: 0,
                        initial_load: true,
                    },
                )
                .await;
        }
        let postgres = matches!(self.tx, Tx::Postgres(_));
        // A new member's id: the import's prefix and its place in card-key order.
        let new_id = if postgres {
            "$2 || lpad(to_hex(seq), 12, '0')"
        } else {
            "$2 || printf('%012x', rowid)"
        };
        // SQLite reads the sorted table in rowid order for free. PostgreSQL would sort it again
        // (5.6 of 84 s at 2 M rows); its heap is already in seq order from the sort that made
        // it, and a plain scan returns it so.
        let in_order = if postgres { "" } else { "ORDER BY rowid" };
        let step = &mut self.step;
        let (created, versions) = on_tx!(self, |tx| {
            // 1. Rows of existing members learn their member and next version number.
            sqlx::query(AssertSqlSafe(format!(
                "UPDATE import_sorted SET target_id = m.id, new_version = m.current_version + 1 FROM members m WHERE {KEY_MATCH}"
            )))
            .execute(&mut **tx)
            .await?;
            step.done("matched existing members");
            // 2. Rows identical to their member's current version are done.
            let unchanged = sqlx::query(
                "DELETE FROM import_sorted WHERE target_id IS NOT NULL AND EXISTS (SELECT 1 FROM member_versions v \
                 WHERE v.member_id = import_sorted.target_id AND v.version = import_sorted.new_version - 1 \
                 AND v.content_hash = import_sorted.content_hash)",
            )
            .execute(&mut **tx)
            .await?
            .rows_affected();
            step.done("dropped unchanged rows");
            // 3. On SQLite, a load at least as large as what is there already goes faster without
            //    the person index (its keys are hashes, so every insert lands somewhere random):
            //    it is built again by one sort at the end, inside this transaction. Readers keep
            //    their snapshot meanwhile. (On PostgreSQL it would lock out every reader of the
            //    table until the commit; only an initial load does that, see `initial_load`.)
            let pending = rows - unchanged;
            let person_index: Option<String> = if postgres || pending < REBUILD_PERSON_INDEX_AT {
                None
            } else {
                // The last rowid counts the versions there are without reading them all.
                let existing: i64 =
                    sqlx::query_scalar("SELECT COALESCE(MAX(rowid), 0) FROM member_versions")
                        .fetch_one(&mut **tx)
                        .await?;
                if pending >= existing as u64 {
                    // Rebuilt from its own definition, whatever the migrations made it.
                    sqlx::query_scalar(
                        "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'member_versions_by_person'",
                    )
                    .fetch_optional(&mut **tx)
                    .await?
                } else {
                    None
                }
            };
            if person_index.is_some() {
                sqlx::query("DROP INDEX member_versions_by_person")
                    .execute(&mut **tx)
                    .await?;
            }
            // 4. New members are created at version 1, in card-key order.
            let created = sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO members (id, insurer_number, symbol, number, branch, current_version, created_at) \
                 SELECT {new_id}, insurer_number, symbol, number, branch, 1, $1 FROM import_sorted \
                 WHERE target_id IS NULL {in_order}"
            )))
            .bind(at)
            .bind(&prefix)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            step.done("created members");
            // 5. Every remaining row is a version: version 1 of a new member, or the next one.
            let versions = sqlx::query(AssertSqlSafe(format!(
                concat!(
                    "INSERT INTO member_versions (member_id, version, recorded_at, source, ",
                    version_columns!(),
                    ") SELECT COALESCE(target_id, {new_id}), COALESCE(new_version, 1), $1, 'import', ",
                    version_columns!(),
                    " FROM import_sorted {in_order}"
                ),
                new_id = new_id,
                in_order = in_order
            )))
            .bind(at)
            .bind(&prefix)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            step.done("inserted versions");
            if let Some(definition) = person_index {
                sqlx::raw_sql(AssertSqlSafe(definition))
                    .execute(&mut **tx)
                    .await?;
                step.done("rebuilt the person index");
            }
            // 6. Changed members point at their new version.
            sqlx::query(
                "UPDATE members SET current_version = s.new_version FROM import_sorted s WHERE members.id = s.target_id",
            )
            .execute(&mut **tx)
            .await?;
            step.done("moved current versions");
            (created, versions)
        });
        if let Tx::Postgres(tx) = &mut self.tx {
            analyze(tx, versions, &mut self.step).await?;
        }
        self.commit(
            actor,
            at,
            ImportOutcome {
                rows,
                created,
                changed: versions - created,
                unchanged: rows - versions,
                initial_load: false,
            },
        )
        .await
    }

    /// Commits the import.
    /// Notes the import in the access log and commits it.
    async fn commit(
        mut self,
        actor: &Actor,
        at: OffsetDateTime,
        outcome: ImportOutcome,
    ) -> Result<ImportOutcome, StoreError> {
        let detail = format!(
            "{} rows: {} created, {} changed",
            outcome.rows, outcome.created, outcome.changed
        );
        on_tx!(self, |tx| audit!(
            &mut **tx,
            at,
            actor,
            AuditAction::Import,
            &[],
            None,
            Some(detail)
        ));
        match self.tx {
            Tx::Sqlite(mut tx) => {
                // SQLite has no ON COMMIT DROP: drop the staging table with the transaction.
                sqlx::query("DROP TABLE temp.import_sorted")
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?
            }
            Tx::Postgres(tx) => tx.commit().await?,
        }
        self.step.done("committed");
        Ok(outcome)
    }
}
