//! `onshi insurer`: register insurers and manage their API tokens.

use std::path::PathBuf;

use clap::Subcommand;
use time::OffsetDateTime;

use onshi_domain::{Clock, InsurerNumber};
use onshi_store::Store;
use onshi_store::token::{self, TokenKind};

use crate::CliError;
use crate::config::{StoreArgs, open_store};

#[derive(Debug, Subcommand)]
pub enum InsurerCommand {
    /// Register an insurer and print its API token (shown once; only its hash is stored).
    ///
    /// Example: onshi insurer add --number 01130012 --name "全国健康保険協会 東京支部"
    Add {
        /// 保険者番号 (8 digits, or 6 for 国保, with check digit).
        #[arg(long, required_unless_present = "from")]
        number: Option<String>,
        /// The insurer's name.
        #[arg(long, required_unless_present = "from")]
        name: Option<String>,
        /// Register every insurer of a CSV file with columns number,name (as `onshi gen insurers` writes).
        #[arg(long, conflicts_with_all = ["number", "name"], value_name = "FILE")]
        from: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Rotate or revoke an insurer's API tokens (audited).
    ///
    /// Example: onshi insurer token rotate --number 01130012 --grace 24h
    Token {
        /// 保険者番号.
        #[arg(long, global = true)]
        number: Option<String>,
        #[command(subcommand)]
        command: crate::tokens::TokenCommand,
    },
    /// List registered insurers.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Runs `onshi insurer`.
pub async fn run(command: InsurerCommand, clock: &dyn Clock) -> Result<(), CliError> {
    match command {
        InsurerCommand::Add {
            number,
            name,
            from,
            store,
        } => {
            let (store, _) = open_store(&store).await?;
            let list = match (from, number, name) {
                (Some(path), _, _) => read_insurers_csv(&path)?,
                (None, Some(n), Some(name)) => vec![(n, name)],
                _ => {
                    return Err(CliError::Config(
                        "give --number and --name, or --from FILE".into(),
                    ));
                }
            };
            for (number, name) in list {
                let token = add_insurer(&store, &number, &name, clock.now()).await?;
                println!("{number}\t{token}\t{name}");
            }
            eprintln!(
                "Keep each token now: only its hash is stored. Use it as 'Authorization: Bearer <token>'."
            );
            store.close().await;
            Ok(())
        }
        InsurerCommand::Token { number, command } => {
            let number = number.ok_or_else(|| CliError::Config("--number: is required".into()))?;
            let number = InsurerNumber::parse(&number)
                .map_err(|e| CliError::Config(format!("--number: {e}")))?;
            crate::tokens::run(crate::tokens::Owner::Insurer(number), command, clock).await
        }
        InsurerCommand::List { store } => {
            let (store, _) = open_store(&store).await?;
            for i in store.insurers().await? {
                println!("{}\t{}\t{}", i.number, i.number.kind().japanese(), i.name);
            }
            store.close().await;
            Ok(())
        }
    }
}

/// Registers an insurer; returns its API token (only the hash is stored).
pub async fn add_insurer(
    store: &Store,
    number: &str,
    name: &str,
    at: OffsetDateTime,
) -> Result<String, CliError> {
    let number =
        InsurerNumber::parse(number).map_err(|e| CliError::Config(format!("--number: {e}")))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(CliError::Config("--name: is required".into()));
    }
    let (token, hash) = token::mint(TokenKind::Insurer)
        .map_err(|_| CliError::Config("no system randomness".into()))?;
    store.create_insurer(&number, name, &hash, at).await?;
    Ok(token)
}

fn read_insurers_csv(path: &std::path::Path) -> Result<Vec<(String, String)>, CliError> {
    let mut reader = csv::Reader::from_path(path)
        .map_err(|e| CliError::Config(format!("{}: {e}", path.display())))?;
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| CliError::Config(format!("{}: {e}", path.display())))?;
        match (record.get(0), record.get(1)) {
            (Some(n), Some(name)) => out.push((n.to_owned(), name.to_owned())),
            _ => {
                return Err(CliError::Config(format!(
                    "{}: line {}: expected number,name",
                    path.display(),
                    i + 2
                )));
            }
        }
    }
    Ok(out)
}
