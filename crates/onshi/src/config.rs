//! Configuration: command-line flags, then `ONSHI_*` environment variables (clap reads both), then
//! an optional TOML file, then defaults. Secrets (the My Number key) come from a file or the
//! environment, never from a flag, so they stay out of shell history and `ps`.

use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;

use onshi_domain::MyNumberKey;
use onshi_store::{Actor, Store, StoreError};

use crate::CliError;

/// Where the SQLite database lives when nothing else is said.
pub const DEFAULT_DB: &str = "sqlite:onshi-data/onshi.db";
/// Where the server listens when nothing else is said.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The key file's name beside a SQLite database.
pub const KEY_FILE_NAME: &str = "my-number.key";

/// Options shared by every verb that opens the registry.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Database URL: `sqlite:PATH` (the embedded default) or `postgres://USER@HOST/DB`.
    /// [default: sqlite:onshi-data/onshi.db]
    #[arg(long, env = "ONSHI_DB", value_name = "URL")]
    pub db: Option<String>,

    /// File holding the My Number hashing key (64+ hex digits). With SQLite and no key configured,
    /// `my-number.key` beside the database is used, and created on first run. The key may instead
    /// be given in ONSHI_MY_NUMBER_KEY.
    #[arg(long, env = "ONSHI_MY_NUMBER_KEY_FILE", value_name = "FILE")]
    pub my_number_key_file: Option<PathBuf>,

    /// PostgreSQL connections the server keeps (the audit log's writer has one more). A
    /// connection helps only while its statement is in flight, so a few per core of this
    /// machine is enough; more add backends that compete for the same cores.
    /// [default: 3 per core, at least 4]
    #[arg(long, env = "ONSHI_DB_CONNECTIONS", value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub db_connections: Option<u32>,

    /// A TOML file with any of: db, db_connections, listen, my_number_key_file, check_limit,
    /// mismatch_limit, max_connections, subsidy_rules, weekly_on.
    #[arg(long, env = "ONSHI_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// The TOML configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Database URL.
    pub db: Option<String>,
    /// PostgreSQL connections.
    pub db_connections: Option<u32>,
    /// Listen address.
    pub listen: Option<String>,
    /// Key file.
    pub my_number_key_file: Option<PathBuf>,
    /// Checks per facility per minute (`serve --check-limit`).
    pub check_limit: Option<u32>,
    /// Look-ups matching no one per facility per hour (`serve --mismatch-limit`).
    pub mismatch_limit: Option<u32>,
    /// Connections kept open at once (`serve --max-connections`).
    pub max_connections: Option<u32>,
    /// A corrected subsidy rules file (`serve --subsidy-rules`).
    pub subsidy_rules: Option<PathBuf>,
    /// The weekly publication's day (`serve --weekly-on`).
    pub weekly_on: Option<String>,
}

impl FileConfig {
    /// Reads the file named by `--config`/`ONSHI_CONFIG`, or an empty configuration.
    pub fn load(path: Option<&Path>) -> Result<Self, CliError> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::Config(format!("{}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| CliError::Config(format!("{}: {e}", path.display())))
    }
}

/// The resolved store settings.
#[derive(Debug)]
pub struct StoreSettings {
    /// Database URL.
    pub db: String,
    /// How to open it.
    pub options: onshi_store::StoreOptions,
    /// The My Number key.
    pub key: MyNumberKey,
}

impl StoreArgs {
    /// Resolves the database URL and loads (or, for SQLite, creates) the My Number key.
    pub fn resolve(&self, file: &FileConfig) -> Result<StoreSettings, CliError> {
        let db = self
            .db
            .clone()
            .or_else(|| file.db.clone())
            .unwrap_or_else(|| DEFAULT_DB.to_owned());
        onshi_store::backend_of(&db).map_err(|e| CliError::Config(format!("--db: {e}")))?;
        let key = load_key(
            &db,
            self.my_number_key_file
                .as_deref()
                .or(file.my_number_key_file.as_deref()),
        )?;
        let mut options = onshi_store::StoreOptions::default();
        match self.db_connections.or(file.db_connections) {
            Some(0) => {
                return Err(CliError::Config(
                    "db_connections: must be at least 1".into(),
                ));
            }
            Some(n) => options.pg_connections = n,
            None => {}
        }
        Ok(StoreSettings { db, options, key })
    }
}

fn sqlite_dir(db: &str) -> Option<PathBuf> {
    if onshi_store::backend_of(db).ok()? != "sqlite" {
        return None;
    }
    let path = db
        .strip_prefix("sqlite://")
        .or_else(|| db.strip_prefix("sqlite:"))
        .unwrap_or(db);
    let path = Path::new(path.split('?').next().unwrap_or(path));
    Some(path.parent().map(Path::to_path_buf).unwrap_or_default())
}

fn load_key(db: &str, file: Option<&Path>) -> Result<MyNumberKey, CliError> {
    if let Ok(hex) = std::env::var("ONSHI_MY_NUMBER_KEY") {
        return MyNumberKey::from_hex(&hex)
            .map_err(|e| CliError::Config(format!("ONSHI_MY_NUMBER_KEY: {e}")));
    }
    let path = match (file, sqlite_dir(db)) {
        (Some(p), _) => p.to_path_buf(),
        (None, Some(dir)) => {
            let path = dir.join(KEY_FILE_NAME);
            if !path.exists() {
                write_new_key(&path)?;
                tracing::warn!(path = %path.display(), "created a new My Number key; back it up with the database");
            }
            path
        }
        (None, None) => {
            return Err(CliError::Config(
                "a PostgreSQL store needs the My Number key: pass --my-number-key-file FILE (make one with \
                 'onshi key generate --out FILE') or set ONSHI_MY_NUMBER_KEY"
                    .into(),
            ));
        }
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| CliError::Config(format!("{}: {e}", path.display())))?;
    MyNumberKey::from_hex(&text).map_err(|e| CliError::Config(format!("{}: {e}", path.display())))
}

/// Writes a new random key (256 bits, hex) to `path`, readable by the owner only.
pub fn write_new_key(path: &Path) -> Result<(), CliError> {
    use aws_lc_rs::rand::{SecureRandom, SystemRandom};
    if path.exists() {
        return Err(CliError::Config(format!(
            "{} exists; refusing to overwrite a key",
            path.display()
        )));
    }
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| CliError::Config("no system randomness".into()))?;
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| CliError::Io(dir.display().to_string(), e))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .map_err(|e| CliError::Io(path.display().to_string(), e))?;
    use std::io::Write;
    writeln!(f, "{}", hex::encode(bytes))
        .map_err(|e| CliError::Io(path.display().to_string(), e))?;
    Ok(())
}

/// Who runs a command, for the access log: `--operator`, else `$USER`, else `cli`.
pub fn operator(name: Option<String>) -> Actor {
    Actor::Operator(
        name.or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "cli".to_owned()),
    )
}

/// How long a server's statement waits for a lock another writer holds (a long import, say)
/// before the request is answered 503 with `Retry-After`, instead of being held until the
/// import commits (minutes for an initial load) while its connection is kept from other checks.
const SERVER_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Opens the store for a command: its statements wait for locks as long as it takes (SQLite:
/// 30 s), since a command's writes should not fail because another holds the registry briefly.
pub async fn open_store(args: &StoreArgs) -> Result<(Store, onshi_domain::MyNumberKey), CliError> {
    open_store_waiting(args, None).await
}

/// Opens the store for a server: a statement waits [`SERVER_LOCK_WAIT`] at most for a lock.
pub async fn open_serving_store(
    args: &StoreArgs,
) -> Result<(Store, onshi_domain::MyNumberKey), CliError> {
    open_store_waiting(args, Some(SERVER_LOCK_WAIT)).await
}

async fn open_store_waiting(
    args: &StoreArgs,
    lock_wait: Option<std::time::Duration>,
) -> Result<(Store, onshi_domain::MyNumberKey), CliError> {
    let file = FileConfig::load(args.config.as_deref())?;
    let mut settings = args.resolve(&file)?;
    settings.options.lock_wait = lock_wait;
    let store = Store::open_with(&settings.db, settings.options)
        .await
        .map_err(|e| match e {
            StoreError::Database(inner) => CliError::Config(format!(
                "cannot open {}: {inner}",
                onshi_store::redact_url(&settings.db)
            )),
            other => other.into(),
        })?;
    store
        .check_key_fingerprint(&settings.key.fingerprint())
        .await?;
    Ok((store, settings.key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_created_beside_sqlite_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite:{}", dir.path().join("x.db").display());
        let a = load_key(&db, None).unwrap();
        let b = load_key(&db, None).unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert!(
            load_key("postgres://h/db", None)
                .unwrap_err()
                .to_string()
                .contains("--my-number-key-file")
        );
        assert!(
            write_new_key(&dir.path().join(KEY_FILE_NAME)).is_err(),
            "never overwrites"
        );
    }

    #[test]
    fn pg_connections_come_from_the_flag_then_the_file_then_the_cores() {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite:{}", dir.path().join("x.db").display());
        let args = |n: Option<u32>| StoreArgs {
            db: Some(db.clone()),
            my_number_key_file: None,
            db_connections: n,
            config: None,
        };
        let file = |n: Option<u32>| FileConfig {
            db_connections: n,
            ..FileConfig::default()
        };
        let connections = |a: Option<u32>, f: Option<u32>| {
            args(a).resolve(&file(f)).map(|s| s.options.pg_connections)
        };
        assert_eq!(connections(Some(3), Some(9)).unwrap(), 3);
        assert_eq!(connections(None, Some(9)).unwrap(), 9);
        let default = connections(None, None).unwrap();
        assert_eq!(default, onshi_store::StoreOptions::default().pg_connections);
        assert!(default >= 4);
        assert!(
            connections(None, Some(0))
                .unwrap_err()
                .to_string()
                .contains("db_connections")
        );
    }

    #[test]
    fn config_file_is_strict() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("onshi.toml");
        std::fs::write(&p, "db = \"sqlite:a.db\"\nlisten = \"0.0.0.0:9\"\n").unwrap();
        let c = FileConfig::load(Some(&p)).unwrap();
        assert_eq!(c.db.as_deref(), Some("sqlite:a.db"));
        std::fs::write(&p, "dbb = 1\n").unwrap();
        assert!(
            FileConfig::load(Some(&p))
                .unwrap_err()
                .to_string()
                .contains("dbb")
        );
    }
}
