//! `onshi audit`: the audit log's hash chain and the signed checkpoints that anchor it outside the
//! database (`onshi_domain::checkpoint`).
//!
//! The signing key is a file the operator keeps away from the database (and from its
//! administrators); checkpoints are files in a directory kept apart too (or copied anywhere:
//! they are public). `verify` holds the log to every checkpoint it is given.

use std::path::{Path, PathBuf};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use clap::Subcommand;
use onshi_domain::Clock;
use onshi_domain::checkpoint::Checkpoint;

use crate::CliError;
use crate::config::{StoreArgs, open_store};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chain and, given checkpoints, hold the log to them: names the first
    /// edited, missing or rewritten entry, or a log truncated or emptied since a checkpoint
    /// (exit 1).
    ///
    /// Without --checkpoints only the chain is checked, which a database administrator who
    /// recomputes every hash can pass; keep checkpoints and verify against them.
    Verify {
        #[command(flatten)]
        store: StoreArgs,
        /// A directory of signed checkpoints (`*.checkpoint`), as `onshi audit checkpoint`
        /// writes them.
        #[arg(long, value_name = "DIR", requires = "public_key")]
        checkpoints: Option<PathBuf>,
        /// The signing key's public half (`<key>.pub`, hex), to check the checkpoints' signatures.
        #[arg(long, value_name = "FILE")]
        public_key: Option<PathBuf>,
    },
    /// Make a checkpoint signing key: the private key (PKCS#8, mode 0600) at FILE and its public
    /// half at FILE.pub. Keep the key where the database's administrators cannot read it.
    Key {
        /// Where to write the key (refuses to overwrite).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Verify the log against the checkpoints already in DIR, then sign a new checkpoint of it
    /// (its size, last hash and Merkle root) and write it to DIR. Run it periodically (a timer)
    /// and after anything that matters; copy the checkpoints elsewhere too.
    Checkpoint {
        #[command(flatten)]
        store: StoreArgs,
        /// The signing key (`onshi audit key`).
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The checkpoint directory (made if missing).
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// The deployment's name, written into each checkpoint.
        #[arg(long, default_value = "onshi")]
        origin: String,
    },
}

/// Runs `onshi audit`.
pub async fn run(command: AuditCommand, clock: &dyn Clock) -> Result<(), CliError> {
    match command {
        AuditCommand::Verify {
            store,
            checkpoints,
            public_key,
        } => {
            let checkpoints = match (checkpoints, public_key) {
                (Some(dir), Some(key)) => read_checkpoints(&dir, &read_public_key(&key)?)?,
                _ => Vec::new(),
            };
            let (store, _) = open_store(&store).await?;
            let result = store.verify_audit_against(&checkpoints).await?;
            store.close().await;
            match result {
                Ok(summary) => {
                    println!(
                        "audit log intact: {} entries, every hash verified{}",
                        summary.entries,
                        if checkpoints.is_empty() {
                            String::new()
                        } else {
                            format!(", consistent with {} signed checkpoints", checkpoints.len())
                        }
                    );
                    Ok(())
                }
                Err(broken) => Err(CliError::Refused(format!("audit log broken at {broken}"))),
            }
        }
        AuditCommand::Key { out } => {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                .map_err(|_| CliError::Config("no system randomness".into()))?;
            let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
                .map_err(|_| CliError::Config("the new key does not read back".into()))?;
            write_new(&out, pkcs8.as_ref(), true)?;
            let public = public_path(&out);
            write_new(
                &public,
                format!("{}\n", hex::encode(pair.public_key().as_ref())).as_bytes(),
                false,
            )?;
            println!(
                "wrote {} (keep it away from the database) and {}",
                out.display(),
                public.display()
            );
            Ok(())
        }
        AuditCommand::Checkpoint {
            store,
            key,
            dir,
            origin,
        } => {
            let bytes = std::fs::read(&key).map_err(|e| io(&key, e))?;
            let pair = Ed25519KeyPair::from_pkcs8(&bytes).map_err(|_| {
                CliError::Config(format!("{}: not an Ed25519 key (PKCS#8)", key.display()))
            })?;
            std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
            let previous = read_checkpoints(&dir, pair.public_key().as_ref())?;
            let (store, _) = open_store(&store).await?;
            let result = store.verify_audit_against(&previous).await?;
            store.close().await;
            let summary = result.map_err(|broken| {
                CliError::Refused(format!(
                    "audit log broken at {broken}; no checkpoint was signed"
                ))
            })?;
            let checkpoint = Checkpoint {
                origin,
                size: u64::try_from(summary.entries).unwrap_or(0),
                chain_head: summary.head,
                root: summary.root,
                at: clock.now(),
            };
            let name = format!(
                "{:012}-{}.checkpoint",
                checkpoint.size,
                checkpoint.at.unix_timestamp()
            );
            let path = dir.join(name);
            write_new(&path, checkpoint.sign(&pair).as_bytes(), false)?;
            println!(
                "signed checkpoint of {} entries: {}",
                checkpoint.size,
                path.display()
            );
            Ok(())
        }
    }
}

fn io(path: &Path, e: std::io::Error) -> CliError {
    CliError::Io(path.display().to_string(), e)
}

fn public_path(key: &Path) -> PathBuf {
    let mut p = key.as_os_str().to_owned();
    p.push(".pub");
    PathBuf::from(p)
}

fn read_public_key(path: &Path) -> Result<Vec<u8>, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| io(path, e))?;
    hex::decode(text.trim())
        .ok()
        .filter(|k| k.len() == 32)
        .ok_or_else(|| {
            CliError::Config(format!(
                "{}: not a public key (64 hex digits)",
                path.display()
            ))
        })
}

/// Every `*.checkpoint` in `dir`, each signature checked; any that fails stops the verb.
pub fn read_checkpoints(dir: &Path, public_key: &[u8]) -> Result<Vec<Checkpoint>, CliError> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io(dir, e)),
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "checkpoint"))
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
        out.push(
            Checkpoint::verify(&text, public_key)
                .map_err(|e| CliError::Refused(format!("{}: {e}", path.display())))?,
        );
    }
    Ok(out)
}

/// Writes a new file (never over an existing one), private (0600) when `secret`, and syncs it.
fn write_new(path: &Path, bytes: &[u8], secret: bool) -> Result<(), CliError> {
    use std::io::Write;
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let _ = secret;
    let mut f = options.open(path).map_err(|e| io(path, e))?;
    f.write_all(bytes).map_err(|e| io(path, e))?;
    f.sync_all().map_err(|e| io(path, e))
}
