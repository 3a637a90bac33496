//! Fresh databases for tests, on every backend the environment offers.
//!
//! SQLite is always there (a file in a temporary folder). PostgreSQL is used when
//! `ONSHI_TEST_DATABASE_URL` names a server where the user may create databases: each test gets a
//! database of its own, `onshi_test_<random>`, dropped by [`TestDb::cleanup`] (a failed test leaves
//! its database behind for inspection). Without the variable the PostgreSQL half is skipped with a
//! printed reason, unless `ONSHI_REQUIRE_PG=1`, which makes the skip an error (CI sets it).
//!
//! A test that fails names the backend it was on: opening a [`TestDb`] notes its backend for the
//! test's thread, and a panic hook (installed once) prints it beside the panic message.

use sqlx::{AssertSqlSafe, Connection, PgConnection};

use crate::{Store, StoreError};

/// A facility master row named 試験施設 for tests: `code` with its prefecture, `kind`
/// (病院, 医科診療所, …), `public` (1 or 0) and `beds`, validated as a file's row would be.
pub fn facility(
    code: &str,
    kind: &str,
    public: &str,
    beds: &str,
) -> Result<onshi_domain::FacilityRecord, onshi_domain::FieldError> {
    onshi_domain::FacilityInput {
        code,
        name: "試験施設",
        kind,
        prefecture: code.get(..2).unwrap_or(""),
        public,
        beds,
        ..onshi_domain::FacilityInput::default()
    }
    .validate()
}

/// The environment variable naming the PostgreSQL server for tests.
pub const DATABASE_URL_VAR: &str = "ONSHI_TEST_DATABASE_URL";
/// The environment variable that turns a skipped PostgreSQL test into a failure.
pub const REQUIRE_PG_VAR: &str = "ONSHI_REQUIRE_PG";

/// A database made for one test.
#[derive(Debug)]
pub struct TestDb {
    /// The URL to open it with.
    pub url: String,
    /// `sqlite` or `postgresql`.
    pub backend: &'static str,
    admin: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

/// Why no test databases could be made.
#[derive(Debug, thiserror::Error)]
pub enum TestDbError {
    /// `ONSHI_REQUIRE_PG=1` but no server was named.
    #[error("{REQUIRE_PG_VAR}=1 but {DATABASE_URL_VAR} is not set")]
    PostgresRequired,
    /// Creating the database failed.
    #[error("creating a test database: {0}")]
    Create(String),
}

std::thread_local! {
    /// The backend of the test database this thread opened last.
    static BACKEND: std::cell::Cell<Option<&'static str>> = const { std::cell::Cell::new(None) };
}

/// Notes `backend` as the one this thread's test runs on, and makes sure a panic names it.
fn note_backend(backend: &'static str) {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            // Through the harness's capture, like the panic message: shown with a failure only.
            if let Some(b) = BACKEND.with(std::cell::Cell::get) {
                eprintln!("note: this test failed on the {b} backend");
            }
        }));
    });
    BACKEND.with(|c| c.set(Some(backend)));
}

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let base = match base[after_scheme..].find('/') {
        Some(slash) => &base[..after_scheme + slash],
        None => base,
    };
    format!("{base}/{name}{query}")
}

impl TestDb {
    /// A fresh SQLite database in its own temporary folder.
    pub fn sqlite() -> Result<Self, TestDbError> {
        let dir = tempfile::tempdir().map_err(|e| TestDbError::Create(e.to_string()))?;
        let url = format!("sqlite:{}", dir.path().join("onshi.db").display());
        Ok(Self {
            url,
            backend: "sqlite",
            admin: None,
            _dir: Some(dir),
        })
    }

    /// A fresh PostgreSQL database, or `None` (after printing why) when no server is configured.
    pub async fn postgres() -> Result<Option<Self>, TestDbError> {
        Self::postgres_created_with("").await
    }

    /// A fresh PostgreSQL database made with these `CREATE DATABASE` options (a locale, say), or
    /// `None` (after printing why) when no server is configured.
    pub async fn postgres_created_with(options: &str) -> Result<Option<Self>, TestDbError> {
        let Ok(admin_url) = std::env::var(DATABASE_URL_VAR) else {
            if std::env::var(REQUIRE_PG_VAR).is_ok_and(|v| v == "1") {
                return Err(TestDbError::PostgresRequired);
            }
            // Written straight to stderr: the test harness captures eprintln!, and a skip must be seen.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "note: skipping the PostgreSQL half of this test: {DATABASE_URL_VAR} is not set"
            );
            return Ok(None);
        };
        let name = format!("onshi_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(&admin_url)
            .await
            .map_err(|e| TestDbError::Create(e.to_string()))?;
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name} {options}")))
            .execute(&mut conn)
            .await
            .map_err(|e| TestDbError::Create(e.to_string()))?;
        let _ = conn.close().await;
        Ok(Some(Self {
            url: with_database(&admin_url, &name),
            backend: "postgresql",
            admin: Some((admin_url, name)),
            _dir: None,
        }))
    }

    /// SQLite, and PostgreSQL when configured.
    pub async fn all() -> Result<Vec<Self>, TestDbError> {
        let mut dbs = vec![Self::sqlite()?];
        dbs.extend(Self::postgres().await?);
        Ok(dbs)
    }

    /// Opens (and migrates) the database.
    pub async fn open(&self) -> Result<Store, StoreError> {
        note_backend(self.backend);
        Store::open(&self.url).await
    }

    /// Opens (and migrates) the database with `options`.
    pub async fn open_with(&self, options: crate::StoreOptions) -> Result<Store, StoreError> {
        note_backend(self.backend);
        Store::open_with(&self.url, options).await
    }

    /// Another writer holding the registry, as a long import does, until
    /// [`RegistryHeld::release`]: on PostgreSQL the member tables locked as an initial load
    /// locks them (no one may read them), on SQLite the database's write lock (readers go on;
    /// writers, the access log's included, wait).
    pub async fn hold_registry(&self) -> Result<RegistryHeld, StoreError> {
        use sqlx::SqliteConnection;
        if self.backend == "postgresql" {
            let mut conn = PgConnection::connect(&self.url).await?;
            sqlx::raw_sql("BEGIN; LOCK TABLE members, member_versions IN ACCESS EXCLUSIVE MODE")
                .execute(&mut conn)
                .await?;
            Ok(RegistryHeld::Postgres(conn))
        } else {
            let mut conn = SqliteConnection::connect(&self.url).await?;
            sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut conn).await?;
            Ok(RegistryHeld::Sqlite(conn))
        }
    }

    /// Runs SQL straight on the database, around the store: for tests that tamper with data the
    /// way an attacker with database access would.
    pub async fn execute_raw(&self, sql: &str) -> Result<u64, StoreError> {
        use sqlx::SqliteConnection;
        let sql = AssertSqlSafe(sql.to_owned());
        if self.backend == "postgresql" {
            let mut conn = PgConnection::connect(&self.url).await?;
            Ok(sqlx::query(sql).execute(&mut conn).await?.rows_affected())
        } else {
            let mut conn = SqliteConnection::connect(&self.url).await?;
            Ok(sqlx::query(sql).execute(&mut conn).await?.rows_affected())
        }
    }

    /// Runs a query that returns one integer (a count, say) straight on the database: for tests
    /// that look at the schema.
    pub async fn query_count(&self, sql: &str) -> Result<i64, StoreError> {
        use sqlx::SqliteConnection;
        let sql = AssertSqlSafe(sql.to_owned());
        if self.backend == "postgresql" {
            let mut conn = PgConnection::connect(&self.url).await?;
            Ok(sqlx::query_scalar(sql).fetch_one(&mut conn).await?)
        } else {
            let mut conn = SqliteConnection::connect(&self.url).await?;
            Ok(sqlx::query_scalar(sql).fetch_one(&mut conn).await?)
        }
    }

    /// Drops a PostgreSQL test database (SQLite's folder goes with `self`).
    pub async fn cleanup(self) {
        if let Some((admin_url, name)) = &self.admin
            && let Ok(mut conn) = PgConnection::connect(admin_url).await
        {
            let _ = sqlx::raw_sql(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await;
        }
    }
}

/// The registry held by another connection ([`TestDb::hold_registry`]).
#[derive(Debug)]
pub enum RegistryHeld {
    /// The member tables locked in an open transaction.
    Postgres(PgConnection),
    /// The write lock taken in an open transaction.
    Sqlite(sqlx::SqliteConnection),
}

impl RegistryHeld {
    /// Ends the transaction, writing nothing, and lets the others go on.
    pub async fn release(self) -> Result<(), StoreError> {
        match self {
            Self::Postgres(mut c) => {
                sqlx::raw_sql("ROLLBACK").execute(&mut c).await?;
                c.close().await?;
            }
            Self::Sqlite(mut c) => {
                sqlx::raw_sql("ROLLBACK").execute(&mut c).await?;
                c.close().await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_replaces_the_path() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "t2"),
            "postgres://u:p@h/t2?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "t3"),
            "postgres://h:5432/t3"
        );
    }
}
