//! `onshi facility`: register facilities (hospitals, clinics, pharmacies) and their API tokens.

use clap::Subcommand;
use time::OffsetDateTime;

use onshi_domain::Clock;
use onshi_store::Store;
use onshi_store::token::{self, TokenKind};

use crate::CliError;
use crate::config::{StoreArgs, open_store};

#[derive(Debug, Subcommand)]
pub enum FacilityCommand {
    /// Register a facility and print its API token (shown once).
    ///
    /// Example: onshi facility add --code 1311111111 --name "オンシ内科クリニック"
    Add {
        /// 医療機関コード (10 digits).
        #[arg(long)]
        code: String,
        /// The facility's name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Rotate or revoke a facility's API tokens (audited).
    ///
    /// Example: onshi facility token revoke --code 1311111111
    Token {
        /// 医療機関コード.
        #[arg(long, global = true)]
        code: Option<String>,
        #[command(subcommand)]
        command: crate::tokens::TokenCommand,
    },
}

/// Runs `onshi facility`.
pub async fn run(command: FacilityCommand, clock: &dyn Clock) -> Result<(), CliError> {
    let (code, name, store) = match command {
        FacilityCommand::Add { code, name, store } => (code, name, store),
        FacilityCommand::Token { code, command } => {
            let code = code.ok_or_else(|| CliError::Config("--code: is required".into()))?;
            let code = onshi_domain::FacilityCode::parse(&code)
                .map_err(|e| CliError::Config(format!("--code: {e}")))?;
            return crate::tokens::run(crate::tokens::Owner::Facility(code), command, clock).await;
        }
    };
    let (store, _) = open_store(&store).await?;
    let token = add_facility(&store, &code, &name, clock.now()).await?;
    println!("{code}\t{token}\t{name}");
    eprintln!("Keep the token now: only its hash is stored.");
    store.close().await;
    Ok(())
}

/// Registers a facility; its token has the `onshi_fac_` prefix.
pub async fn add_facility(
    store: &Store,
    code: &str,
    name: &str,
    at: OffsetDateTime,
) -> Result<String, CliError> {
    let code = onshi_domain::FacilityCode::parse(code)
        .map_err(|e| CliError::Config(format!("--code: {e}")))?;
    let (token, hash) = token::mint(TokenKind::Facility)
        .map_err(|_| CliError::Config("no system randomness".into()))?;
    store.create_facility(&code, name.trim(), &hash, at).await?;
    Ok(token)
}
