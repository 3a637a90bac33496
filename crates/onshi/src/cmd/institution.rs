//! `onshi institution`: register checkup institutions (健診機関), which send their checkup
//! archives to insurers, and manage their API tokens.

use clap::Subcommand;

use onshi_domain::{Clock, InstitutionNumber};
use onshi_store::token::{self, TokenKind};

use crate::CliError;
use crate::config::{StoreArgs, open_store, operator};

#[derive(Debug, Subcommand)]
pub enum InstitutionCommand {
    /// Register a checkup institution and print its API token (shown once). It may then upload
    /// archives of its own documents; employer checkups only under an employer's consignment.
    ///
    /// Example: onshi institution add --number 1312345678 --name "オンシ健診センター"
    Add {
        /// 健診機関番号 (10 digits, the number its documents carry).
        #[arg(long)]
        number: String,
        /// The institution's name.
        #[arg(long)]
        name: String,
        /// Who does it, for the audit log. [default: $USER]
        #[arg(long, env = "ONSHI_OPERATOR")]
        operator: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Rotate or revoke an institution's API tokens (audited).
    ///
    /// Example: onshi institution token rotate --number 1312345678 --grace 24h
    Token {
        /// 健診機関番号.
        #[arg(long, global = true)]
        number: Option<String>,
        #[command(subcommand)]
        command: crate::tokens::TokenCommand,
    },
}

fn parse_number(text: &str) -> Result<InstitutionNumber, CliError> {
    InstitutionNumber::parse(text).map_err(|e| CliError::Config(format!("--number: {e}")))
}

/// Runs `onshi institution`.
pub async fn run(command: InstitutionCommand, clock: &dyn Clock) -> Result<(), CliError> {
    match command {
        InstitutionCommand::Add {
            number,
            name,
            operator: who,
            store,
        } => {
            let number = parse_number(&number)?;
            let name = name.trim();
            if name.is_empty() {
                return Err(CliError::Config("--name: is required".into()));
            }
            let (store, _) = open_store(&store).await?;
            let (token, hash) = token::mint(TokenKind::Institution)
                .map_err(|_| CliError::Config("no system randomness".into()))?;
            store
                .create_institution(&number, name, &hash, clock.now(), &operator(who))
                .await?;
            println!("{number}\t{token}\t{name}");
            eprintln!("Keep the token now: only its hash is stored.");
            store.close().await;
            Ok(())
        }
        InstitutionCommand::Token { number, command } => {
            let number = parse_number(
                &number.ok_or_else(|| CliError::Config("--number: is required".into()))?,
            )?;
            crate::tokens::run(crate::tokens::Owner::Institution(number), command, clock).await
        }
    }
}
