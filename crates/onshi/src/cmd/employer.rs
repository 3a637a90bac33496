//! `onshi employer`: register an insurer's employers (事業所), which send their employees'
//! checkup results and consign institutions, and manage their API tokens. Insurers register
//! their own through `POST /v1/employers`; this is the operator's way for an insurer.

use clap::Subcommand;

use onshi_domain::{Clock, EmployerCode, EmployerRef, Industry, InsurerNumber, Prefecture};
use onshi_store::token::{self, TokenKind};

use crate::CliError;
use crate::config::{StoreArgs, open_store, operator};

#[derive(Debug, Subcommand)]
pub enum EmployerCommand {
    /// Register an employer of an insurer and print its API token (shown once).
    ///
    /// Example: onshi employer add --insurer 06139999 --code 1001 --name "オンシ製作所" --industry E --prefecture 13
    Add {
        /// The insurer's number (保険者番号).
        #[arg(long)]
        insurer: String,
        /// 事業所コード at the insurer: 1–16 letters, digits or hyphens (what the member file's
        /// `employer` column holds).
        #[arg(long)]
        code: String,
        /// 事業所名.
        #[arg(long)]
        name: String,
        /// 業態: the JSIC major group letter, A–T (E 製造業, G 情報通信業, P 医療、福祉, …).
        #[arg(long)]
        industry: String,
        /// 都道府県 code, 01–47.
        #[arg(long)]
        prefecture: String,
        /// Who does it, for the audit log. [default: $USER]
        #[arg(long, env = "ONSHI_OPERATOR")]
        operator: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Rotate or revoke an employer's API tokens (audited).
    ///
    /// Example: onshi employer token revoke --insurer 06139999 --code 1001
    Token {
        /// The insurer's number.
        #[arg(long, global = true)]
        insurer: Option<String>,
        /// 事業所コード.
        #[arg(long, global = true)]
        code: Option<String>,
        #[command(subcommand)]
        command: crate::tokens::TokenCommand,
    },
}

fn employer_ref(insurer: &str, code: &str) -> Result<EmployerRef, CliError> {
    Ok(EmployerRef {
        insurer: InsurerNumber::parse(insurer)
            .map_err(|e| CliError::Config(format!("--insurer: {e}")))?,
        code: EmployerCode::parse(code).map_err(|e| CliError::Config(format!("--code: {e}")))?,
    })
}

/// Runs `onshi employer`.
pub async fn run(command: EmployerCommand, clock: &dyn Clock) -> Result<(), CliError> {
    match command {
        EmployerCommand::Add {
            insurer,
            code,
            name,
            industry,
            prefecture,
            operator: who,
            store,
        } => {
            let id = employer_ref(&insurer, &code)?;
            let industry = Industry::parse(&industry)
                .map_err(|e| CliError::Config(format!("--industry: {e}")))?;
            let prefecture = Prefecture::parse(&prefecture)
                .map_err(|e| CliError::Config(format!("--prefecture: {e}")))?;
            let name = name.trim().to_owned();
            if name.is_empty() {
                return Err(CliError::Config("--name: is required".into()));
            }
            let (store, _) = open_store(&store).await?;
            let (token, hash) = token::mint(TokenKind::Employer)
                .map_err(|_| CliError::Config("no system randomness".into()))?;
            let employer = onshi_store::Employer {
                id: id.clone(),
                name,
                industry,
                prefecture,
                created_at: clock.now(),
            };
            store
                .create_employer(&employer, &hash, &operator(who))
                .await?;
            println!("{id}\t{token}\t{}", employer.name);
            eprintln!("Keep the token now: only its hash is stored.");
            store.close().await;
            Ok(())
        }
        EmployerCommand::Token {
            insurer,
            code,
            command,
        } => {
            let id = employer_ref(
                &insurer.ok_or_else(|| CliError::Config("--insurer: is required".into()))?,
                &code.ok_or_else(|| CliError::Config("--code: is required".into()))?,
            )?;
            crate::tokens::run(crate::tokens::Owner::Employer(id), command, clock).await
        }
    }
}
