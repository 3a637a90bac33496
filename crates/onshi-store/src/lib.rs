//! onshi's storage: one [`Store`] with two backends, chosen at start-up from the URL.
//!
//! - **SQLite** (`sqlite:PATH`, or a plain file path): the embedded default. One file in WAL mode,
//!   created on first use; one writer connection (so writers never meet `SQLITE_BUSY`) and a pool
//!   of read-only connections.
//! - **PostgreSQL** (`postgres://…`): the production store.
//!
//! Every query is written once, with `$N` placeholders that both drivers accept, and compiled
//! once per backend by the `on_pool!` macro. Where the SQL must differ (DDL, bulk loading), the
//! two arms are written out side by side.
//!
//! Invariants:
//! - Member versions are only ever inserted; a change is a new version.
//! - Every method that returns a person's data takes an [`Actor`] and appends an
//!   hash-chained `audit_log` entry in the same call, so no read goes unrecorded.
//! - Nothing here logs personal data: errors name tables and constraints, never values.

use std::str::FromStr;
use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use time::OffsetDateTime;

use onshi_domain::{
    EmployerRef, FacilityCode, InstitutionNumber, InsurerNumber, MemberDetails, MemberKey,
    PersonRef,
};

/// The content columns of a member version, in the order every statement that writes a version
/// lists them (`INSERT INTO member_versions (member_id, version, recorded_at, source, <these>)`),
/// and the staging tables of an import name them alike, so an import selects them by the same
/// list. One literal, so a new column is added in one place.
macro_rules! version_columns {
    () => {
        "name, name_kana, birth_date, sex, relationship, qualified_from, qualified_until, \
         loss_reason, copay_ratio, person_ref, content_hash, limit_certificate, card_details, employer"
    };
}

/// The columns of a member version as `members::decode` reads them, by name (`m` members,
/// `v` member_versions), as one literal; a statement may add its own after them, under other
/// names.
macro_rules! member_columns {
    () => {
        concat!(
            "m.id, m.insurer_number, m.symbol, m.number, m.branch, v.version, v.recorded_at, v.source, ",
            "v.name, v.name_kana, v.birth_date, v.sex, v.relationship, v.qualified_from, v.qualified_until, ",
            "v.loss_reason, v.copay_ratio, v.person_ref, v.limit_certificate, v.card_details, v.employer"
        )
    };
}

/// Declares a row type decoded by column name on both backends (`sqlx::FromRow` for
/// `SqliteRow` and `PgRow`): one struct per table's read, each field named as its column, so
/// `query_as` fills it by name and a reordered `SELECT` cannot shift a field.
macro_rules! row_by_name {
    ($(#[$meta:meta])* $vis:vis struct $name:ident {
        $($(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty),* $(,)?
    }) => {
        $(#[$meta])* $vis struct $name { $($(#[$fmeta])* $fvis $field: $ty),* }
        impl<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> for $name {
            fn from_row(row: &'r sqlx::sqlite::SqliteRow) -> Result<Self, sqlx::Error> {
                use sqlx::Row;
                Ok(Self { $($field: row.try_get(stringify!($field))?),* })
            }
        }
        impl<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> for $name {
            fn from_row(row: &'r sqlx::postgres::PgRow) -> Result<Self, sqlx::Error> {
                use sqlx::Row;
                Ok(Self { $($field: row.try_get(stringify!($field))?),* })
            }
        }
    };
}

mod audit;
mod bulk;
mod checkups;
mod compared_time;
mod credentials;
mod eligibility;
mod import;
mod import_log;
mod judgements;
mod members;
mod migrate;
mod operator;
mod organisations;
mod programme;
mod reports;
mod sessions;
mod staff;
pub mod testing;
pub mod token;
mod transfers;

pub use audit::{AuditBreak, AuditEntry, AuditSummary, CheckAudit};
pub use bulk::BulkJob;
pub use checkups::{
    Added, CheckupImport, CheckupImportOutcome, CheckupJudgement, CheckupSubject, ClaimAmounts,
    MatchCandidate, NewCheckup, NewObservation, StoredCheckup, StoredObservation, UnmatchedCheckup,
    document_sender_refusal, fiscal_year,
};
pub use credentials::{Rotation, TokenOwner};
pub use eligibility::{CardHolder, CardRead, Consent, Facility};
pub use import::{ImportOutcome, ImportSession, StagedRow};
pub use import_log::{ImportKind, ImportRecord};
pub use judgements::{CheckupToJudge, RulePeriods};
pub use members::MemberPage;
pub use operator::{
    AdoptionCount, AdoptionDay, AdoptionStep, EditionSummary, FacilityImportCounts, MonthlyChecks,
    OperatorFacility, PublicHospital, ReaderApplication, WeeklyEdition, start_of_japan_day,
};
pub use organisations::{CheckupRequest, Consignment, Employer, Institution};
pub use programme::{
    GuidanceEvent, GuidanceRecord, GuidanceStatus, ProgrammeCounts, ProgrammeList, ProgrammePage,
    ProgrammePerson, RateCounts,
};
pub use reports::{MedicalCost, ReportCell};
pub use sessions::{GivenConsent, PortalSession, SessionTimes};
pub use staff::{LOCK_AFTER, LOCK_FOR, StaffAccount};
pub use transfers::{CheckupTransfer, TransferError};

/// Runs `$body` with `$p` bound to the pool of the store's backend (`read` or `write`), compiling
/// the body once for SQLite and once for PostgreSQL.
macro_rules! on_pool {
    ($store:expr, read, |$p:ident| $body:expr) => {
        match &*$store.backend {
            $crate::Backend::Sqlite { read: $p, .. } => $body,
            $crate::Backend::Postgres($p) => $body,
        }
    };
    ($store:expr, write, |$p:ident| $body:expr) => {
        match &*$store.backend {
            $crate::Backend::Sqlite { write: $p, .. } => $body,
            $crate::Backend::Postgres($p) => $body,
        }
    };
}
pub(crate) use on_pool;

/// A transaction held across awaits by a long write (a member import, a checkup import), on
/// either backend; [`on_tx!`] runs a statement block on it, written once.
pub(crate) enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Runs `$body` with `$tx` bound to the `tx` field of `$session` (a [`Tx`]), per backend.
macro_rules! on_tx {
    ($session:expr, |$tx:ident| $body:expr) => {
        match &mut $session.tx {
            $crate::Tx::Sqlite($tx) => $body,
            $crate::Tx::Postgres($tx) => $body,
        }
    };
}
pub(crate) use on_tx;

/// Statements slower than this are logged at debug level (`ONSHI_LOG=sqlx=debug`): bulk imports
/// are expected to run long statements, so they are not warnings.
const SLOW_STATEMENT: Duration = Duration::from_secs(1);

/// Something went wrong in the store. Messages never contain personal data.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no backend onshi knows.
    #[error("unsupported database URL (expected sqlite:PATH, a file path, or postgres://…)")]
    UnsupportedUrl,
    /// No such record (or not one the caller may see).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The write conflicts with what is stored.
    #[error("{0}")]
    Conflict(String),
    /// The database was written by a newer onshi, or with another My Number key.
    #[error("{0}")]
    Incompatible(String),
    /// A stored value does not read back as a valid domain value.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// The database itself failed.
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// A lock another writer holds (an import, say) or a free connection did not come within
    /// the store's waiting time ([`StoreOptions::lock_wait`]): nothing was done, and the same
    /// call may succeed shortly.
    #[error("the registry is busy: {0}")]
    Busy(&'static str),
    /// The card challenge an eligibility check answers had been used already (a replay): the
    /// check must not be answered.
    #[error("the challenge was already used")]
    ChallengeUsed,
    /// The audit writer could not make an entry durable (the read it recorded is not answered).
    #[error("audit log write failed: {0}")]
    Audit(String),
}

/// PostgreSQL's `lock_not_available`: `lock_timeout` ran out.
const PG_LOCK_NOT_AVAILABLE: &str = "55P03";
/// SQLite's `SQLITE_BUSY` and `SQLITE_LOCKED`, the primary result codes (the low byte of an
/// extended one) of a lock that `busy_timeout` waited for in vain.
const SQLITE_BUSY_OR_LOCKED: [u32; 2] = [5, 6];

impl From<sqlx::Error> for StoreError {
    /// Waiting in vain (for a lock or a pooled connection) is [`StoreError::Busy`]; anything
    /// else is a failure of the database.
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut => Self::Busy("no database connection came free in time"),
            sqlx::Error::Database(db) => {
                let code = db.code().unwrap_or_default();
                let sqlite_busy = db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
                    && code
                        .parse::<u32>()
                        .is_ok_and(|c| SQLITE_BUSY_OR_LOCKED.contains(&(c & 0xff)));
                if code == PG_LOCK_NOT_AVAILABLE || sqlite_busy {
                    Self::Busy("another writer (an import, say) holds what this needs")
                } else {
                    Self::Database(e)
                }
            }
            _ => Self::Database(e),
        }
    }
}

/// Who is reading or changing data: written into the access log with every such call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// An insurer through its API token.
    Insurer(InsurerNumber),
    /// A person operating onshi's command line (named by the OS user or `--operator`).
    Operator(String),
    /// A medical facility or pharmacy through its credentials.
    Facility(FacilityCode),
    /// An insured person, authenticated by their card, reading their own records.
    Person(PersonRef),
    /// An employer (事業所) through its API token.
    Employer(EmployerRef),
    /// A checkup institution (健診機関) through its API token.
    Institution(InstitutionNumber),
    /// A staff member signed in to the pages: their login and organisation
    /// (`insurer:01130012`, `facility:1311111111`, …).
    Staff {
        /// The account's login.
        login: String,
        /// The organisation, as `kind:id`.
        organisation: String,
    },
}

impl Actor {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Insurer(_) => "insurer",
            Self::Operator(_) => "operator",
            Self::Facility(_) => "facility",
            Self::Person(_) => "person",
            Self::Employer(_) => "employer",
            Self::Institution(_) => "institution",
            Self::Staff { .. } => "staff",
        }
    }
    pub(crate) fn id(&self) -> String {
        match self {
            Self::Insurer(n) => n.as_str().to_owned(),
            Self::Operator(name) => name.clone(),
            Self::Facility(code) => code.as_str().to_owned(),
            Self::Person(person) => person.as_str().to_owned(),
            Self::Employer(e) => e.to_string(),
            Self::Institution(n) => n.as_str().to_owned(),
            Self::Staff {
                login,
                organisation,
            } => format!("{organisation}/{login}"),
        }
    }
}

/// An insurer (保険者) as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Insurer {
    /// 保険者番号
    pub number: InsurerNumber,
    /// 保険者名
    pub name: String,
    /// When it was registered.
    pub created_at: OffsetDateTime,
}

/// One version of a member, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    /// The member's opaque id (stable across versions).
    pub id: String,
    /// The card key.
    pub key: MemberKey,
    /// The version number, from 1.
    pub version: i64,
    /// When this version was recorded.
    pub recorded_at: OffsetDateTime,
    /// Where the version came from: `api` or `import`.
    pub source: String,
    /// The content of the version.
    pub details: MemberDetails,
}

/// Which kind of database a [`Store`] is, chosen once from its URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// The embedded default.
    Sqlite,
    /// The production store.
    Postgres,
}

impl StoreKind {
    /// `sqlite` or `postgresql`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgresql",
        }
    }
}

pub(crate) enum Backend {
    Sqlite { read: SqlitePool, write: SqlitePool },
    Postgres(PgPool),
}

/// The registry's storage. Cheap to clone (pools and the audit writer are shared).
#[derive(Clone)]
pub struct Store {
    backend: std::sync::Arc<Backend>,
    /// The audit writer (group commit) that read-side audit entries go through.
    audit: tokio::sync::mpsc::Sender<audit::AuditJob>,
}

impl Store {
    /// A store over `backend`; `audit_pool` is PostgreSQL's separate connection for the audit
    /// writer, so that its group commits never queue for a connection behind the requests
    /// waiting on them.
    fn with_backend(backend: Backend, audit_pool: Option<PgPool>) -> Self {
        let backend = std::sync::Arc::new(backend);
        let audit = audit::spawn_writer(std::sync::Arc::clone(&backend), audit_pool);
        Self { backend, audit }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.backend_name())
    }
}

/// Which backend a URL names, without connecting.
pub fn backend_of(url: &str) -> Result<&'static str, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok("postgresql")
    } else if url.starts_with("sqlite:") || !url.contains("://") {
        Ok("sqlite")
    } else {
        Err(StoreError::UnsupportedUrl)
    }
}

/// The URL with any password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            match userinfo.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &userinfo[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// How a store is opened, beyond its URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// PostgreSQL connections shared by reads and writes (the audit writer has one more of its
    /// own). A connection helps only while its statement is in flight, and the server cannot
    /// keep many more statements in flight than it has cores: more connections only add
    /// PostgreSQL backends competing for the same cores.
    pub pg_connections: u32,
    /// How long one statement may wait for a lock that another writer holds (an import, say)
    /// before the store gives up with [`StoreError::Busy`]: PostgreSQL's `lock_timeout`,
    /// SQLite's busy timeout. `None`: PostgreSQL waits as long as it takes and SQLite 30 s,
    /// which suits the command line; the server sets a few seconds, so that a check meanwhile
    /// is answered "busy" rather than held. Waiting for a pooled connection is limited the
    /// same way (`None`: 30 s).
    pub lock_wait: Option<Duration>,
}

impl Default for StoreOptions {
    /// Three PostgreSQL connections per core of this machine, at least four. On 2 cores with
    /// PostgreSQL beside the server, 6 connections answered 18–33 % more number checks than
    /// the 16 used before (BENCHMARKS.md).
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            pg_connections: u32::try_from(cores * 3).unwrap_or(u32::MAX).max(4),
            lock_wait: None,
        }
    }
}

/// A connection idle for longer than this is pinged before it is used again.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// PostgreSQL pool options. sqlx pings every connection it hands out by default: a round trip
/// as long as the query itself, which made every check pay two per statement. A connection in
/// steady use has just answered; only one that sat idle (PostgreSQL may have restarted, a
/// firewall may have dropped it) is pinged first, and dropped if the ping fails.
fn pg_pool(size: u32, acquire: Duration) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(acquire)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_AFTER_IDLE {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
}

impl Store {
    /// Connects to the store the URL names and brings its schema up to date. A SQLite file is
    /// created (with its folder) if missing.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, StoreOptions::default()).await
    }

    /// [`Store::open`] with `options`.
    pub async fn open_with(url: &str, options: StoreOptions) -> Result<Self, StoreError> {
        // A caller that waits a short time for locks waits no longer for a free connection.
        let acquire = options.lock_wait.unwrap_or(Duration::from_secs(30));
        match backend_of(url)? {
            "postgresql" => {
                let mut opts = PgConnectOptions::from_str(url)?
                    .log_statements(log::LevelFilter::Trace)
                    .log_slow_statements(log::LevelFilter::Debug, SLOW_STATEMENT);
                // One direct connection first: a pool that cannot connect retries until its
                // acquire timeout and then says only that it timed out (which would read as
                // Busy); a direct connection says why at once (refused, unknown host, password).
                sqlx::Connection::close(opts.connect().await?).await?;
                // Migrations wait for their locks as long as it takes, whatever the store's
                // lock wait: another server may be migrating, or still reading the tables that
                // a migration alters. Their connections (one holds the advisory lock, one
                // migrates) close before the store's own open.
                let migrator = pg_pool(2, Duration::from_secs(30))
                    .connect_with(opts.clone())
                    .await?;
                migrate::run_postgres(&migrator).await?;
                migrator.close().await;
                if let Some(wait) = options.lock_wait {
                    // At least 1 ms: 0 would mean "wait forever" to PostgreSQL.
                    let ms = wait.as_millis().max(1);
                    opts = opts.options([("lock_timeout", format!("{ms}ms"))]);
                }
                let pool = pg_pool(options.pg_connections.max(1), acquire)
                    .connect_with(opts.clone())
                    .await?;
                let audit_pool = pg_pool(1, acquire).connect_with(opts).await?;
                Ok(Self::with_backend(
                    Backend::Postgres(pool),
                    Some(audit_pool),
                ))
            }
            _ => {
                let path = url
                    .strip_prefix("sqlite://")
                    .or_else(|| url.strip_prefix("sqlite:"))
                    .unwrap_or(url);
                let path = path.split('?').next().unwrap_or(path);
                if let Some(dir) = std::path::Path::new(path).parent()
                    && !dir.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
                }
                let opts = SqliteConnectOptions::from_str(&format!("sqlite:{path}"))?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(options.lock_wait.unwrap_or(Duration::from_secs(30)))
                    .foreign_keys(true)
                    .log_statements(log::LevelFilter::Trace)
                    .log_slow_statements(log::LevelFilter::Debug, SLOW_STATEMENT);
                // An in-process connection cannot have gone away: no ping before each use (it
                // would be a trip through the connection's worker thread).
                let write = SqlitePoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(acquire)
                    .test_before_acquire(false)
                    .connect_with(opts.clone())
                    .await?;
                migrate::run_sqlite(&write).await?;
                let read = SqlitePoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(acquire)
                    .test_before_acquire(false)
                    .connect_with(opts.read_only(true))
                    .await?;
                Ok(Self::with_backend(Backend::Sqlite { read, write }, None))
            }
        }
    }

    /// Which kind of database this store is.
    pub fn kind(&self) -> StoreKind {
        match &*self.backend {
            Backend::Sqlite { .. } => StoreKind::Sqlite,
            Backend::Postgres(_) => StoreKind::Postgres,
        }
    }

    /// `sqlite` or `postgresql` (as `/healthz` and the start-up line name it).
    pub fn backend_name(&self) -> &'static str {
        self.kind().name()
    }

    /// Closes every connection (SQLite checkpoints its WAL).
    pub async fn close(&self) {
        match &*self.backend {
            Backend::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Backend::Postgres(p) => p.close().await,
        }
    }

    /// Records the fingerprint of the deployment's My Number key on first use, and refuses a
    /// different key afterwards: hashes made with another key would never match.
    pub async fn check_key_fingerprint(&self, fingerprint: &str) -> Result<(), StoreError> {
        let stored: Option<String> = on_pool!(self, write, |p| {
            sqlx::query("INSERT INTO meta (key, value) VALUES ('my_number_key', $1) ON CONFLICT (key) DO NOTHING")
                .bind(fingerprint)
                .execute(p)
                .await?;
            sqlx::query_scalar("SELECT value FROM meta WHERE key = 'my_number_key'")
                .fetch_optional(p)
                .await?
        });
        match stored {
            Some(s) if s != fingerprint => Err(StoreError::Incompatible(format!(
                "this database was written with the My Number key whose fingerprint is {s}, not {fingerprint}: \
                 start onshi with that key"
            ))),
            _ => Ok(()),
        }
    }

    /// Registers an insurer with the hash of its API token.
    pub async fn create_insurer(
        &self,
        number: &InsurerNumber,
        name: &str,
        token_hash: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let done = on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let done = sqlx::query(
                "INSERT INTO insurers (number, name, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (number) DO NOTHING",
            )
            .bind(number.as_str())
            .bind(name)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done > 0 {
                sqlx::query(
                    "INSERT INTO api_tokens (token_hash, owner_kind, owner_id, created_at) VALUES ($1, 'insurer', $2, $3)",
                )
                .bind(token_hash)
                .bind(number.as_str())
                .bind(at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
            }
            done
        });
        if done == 0 {
            return Err(StoreError::Conflict(format!(
                "insurer {number} is already registered"
            )));
        }
        Ok(())
    }

    /// Every registered insurer, by number.
    pub async fn insurers(&self) -> Result<Vec<Insurer>, StoreError> {
        let rows: Vec<InsurerRow> = on_pool!(self, read, |p| sqlx::query_as(
            "SELECT number, name, created_at FROM insurers ORDER BY number"
        )
        .fetch_all(p)
        .await?);
        rows.into_iter().map(insurer_from).collect()
    }

    /// Counts of rows in the registry's tables, for status output: (insurers, members, versions).
    pub async fn counts(&self) -> Result<(i64, i64, i64), StoreError> {
        Ok(on_pool!(self, read, |p| {
            sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM insurers), (SELECT COUNT(*) FROM members), (SELECT COUNT(*) FROM member_versions)"
        )
        .fetch_one(p)
        .await?
        }))
    }
}

row_by_name! {
    /// A row of `insurers`, as read.
    struct InsurerRow {
        number: String,
        name: String,
        created_at: OffsetDateTime,
    }
}

fn insurer_from(
    InsurerRow {
        number,
        name,
        created_at,
    }: InsurerRow,
) -> Result<Insurer, StoreError> {
    Ok(Insurer {
        number: InsurerNumber::parse(&number).map_err(StoreError::Corrupt)?,
        name,
        created_at,
    })
}
