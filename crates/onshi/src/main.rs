//! `onshi`: the one binary. This file parses the command line, sets up logging and dispatches;
//! each verb lives in its own module under `cmd/` with its options and its `run`.
//!
//! - `cmd/`: one file per verb (`serve`, `demo`, `import`, `insurer`, `gen`, `key`, `facility`,
//!   `pki`, `reader`, `agent`, `register`, `check`, `audit`, `registrations`, `loadgen`).
//! - `config`: flags → `ONSHI_*` → TOML → defaults, the My Number key, opening the store.
//! - `client`: the facility-side HTTP client, typed by `onshi_api`.
//! - `cards`, `pki_dir`: virtual card files and the demo PKI folder.
//! - `import`, `synth`, `cpu`: the member-file import, the synthetic population, CPU metering.

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use onshi_server::SystemClock;

mod cards;
mod client;
mod cmd;
mod config;
mod cpu;
mod error;
mod facilities;
mod import;
mod pki_dir;
mod synth;
mod synth_checkups;
mod synth_facilities;
mod synth_guidance;
mod tokens;

pub use error::CliError;

/// Online health-insurance eligibility verification (オンライン資格確認) and the data-health
/// services around it.
///
/// Start with `onshi demo`: it creates a SQLite database with synthetic insurers and members,
/// prints what to try, and serves the API. Configuration comes from flags, then ONSHI_*
/// environment variables, then a TOML file (--config), then defaults.
#[derive(Debug, Parser)]
#[command(
    name = "onshi",
    version,
    propagate_version = true,
    max_term_width = 100
)]
struct Cli {
    #[command(subcommand)]
    command: Command,

    /// Log filter, e.g. `info` or `onshi_store=debug,info` (tracing's EnvFilter syntax).
    #[arg(long, env = "ONSHI_LOG", default_value = "info", global = true)]
    log: String,

    /// Log format on standard error.
    #[arg(long, env = "ONSHI_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP API (insurer API, /healthz, /openapi.json).
    ///
    /// A request that waits more than 5 s for a lock another writer holds (a large import into
    /// the same database, say) is answered 503 (problem type busy, with Retry-After) instead of
    /// being held until that writer commits.
    ///
    /// Example: onshi serve --db postgres://onshi@db/onshi --my-number-key-file /etc/onshi/key --listen 0.0.0.0:8080
    Serve(cmd::serve::ServeArgs),

    /// Create (once) a demo registry with synthetic insurers and members, then serve it.
    ///
    /// Everything lives under --dir: the SQLite database, its My Number key, the insurers' API
    /// tokens (demo-tokens.txt) and the member files it imported. Running it again reuses them.
    Demo(cmd::demo::DemoArgs),

    /// Import files into the registry.
    #[command(subcommand)]
    Import(cmd::import::ImportCommand),

    /// Export what the registry holds as the standard's files.
    #[command(subcommand)]
    Export(cmd::export::ExportCommand),

    /// Register insurers and manage their API tokens.
    #[command(subcommand)]
    Insurer(cmd::insurer::InsurerCommand),

    /// Staff accounts of the pages (password and TOTP): add, reset, disable.
    #[command(subcommand)]
    Account(cmd::account::AccountCommand),

    /// Print the current TOTP code of a base32 secret (what an authenticator app shows).
    ///
    /// Example: onshi totp JBSWY3DPEHPK3PXP
    Totp {
        /// The account's TOTP secret (base32).
        secret: String,
    },

    /// Generate synthetic data (for demos, tests and benchmarks).
    #[command(subcommand)]
    Gen(cmd::generate::GenCommand),

    /// Manage the key that turns My Numbers into person references.
    #[command(subcommand)]
    Key(cmd::key::KeyCommand),

    /// The facilities (hospitals, clinics, pharmacies): the master, onboarding (apply,
    /// approve), card-reader applications, API tokens.
    #[command(subcommand)]
    Facility(cmd::facility::FacilityCommand),

    /// The card-reader subsidy: the rules in force, and what an application is paid and why.
    #[command(subcommand)]
    Subsidy(cmd::subsidy::SubsidyCommand),

    /// Publish by hand what the server's scheduler publishes (the weekly edition of public
    /// hospitals' card-reader applications).
    #[command(subcommand)]
    Publish(cmd::publish::PublishCommand),

    /// Register checkup institutions (健診機関) and their API tokens.
    #[command(subcommand)]
    Institution(cmd::institution::InstitutionCommand),

    /// Register an insurer's employers (事業所) and their API tokens.
    #[command(subcommand)]
    Employer(cmd::employer::EmployerCommand),

    /// A demo public-key infrastructure: authorities, virtual cards, revocation lists.
    #[command(subcommand)]
    Pki(cmd::pki::PkiCommand),

    /// Act as a face-authentication card reader: unlock a virtual card, sign a challenge, check
    /// eligibility, print the result.
    ///
    /// A failed face match or a wrong PIN never reaches the server; three wrong PINs lock the card.
    ///
    /// Example: onshi reader --facility-token $TOKEN --card onshi-demo/cards/valid.json --face ok --consent medication,checkup
    Reader(cmd::reader::ReaderArgs),

    /// Bridge a receipt computer's shared folder to the server: answer request XML dropped in
    /// DIR/req with result XML in DIR/res (UTF-8 or Shift_JIS, as the request).
    ///
    /// Example: onshi agent --facility-token $TOKEN --dir //terminal/OQS
    Agent(cmd::agent::AgentArgs),

    /// Register a card for insurance use (利用申込) from the portal, or at a facility's reader.
    Register(cmd::register::RegisterArgs),

    /// Check eligibility without a card.
    #[command(subcommand)]
    Check(cmd::check::CheckCommand),

    /// The audit log: verify its hash chain, and sign checkpoints that anchor it outside the database.
    #[command(subcommand)]
    Audit(cmd::audit::AuditCommand),

    /// Drive checks at a running server and report throughput and latency percentiles.
    ///
    /// Example: onshi loadgen --facility-token $TOKEN --path card --card onshi-demo/cards/valid.json --requests 2000
    Loadgen(cmd::loadgen::LoadArgs),

    /// Counts of registrations for insurance use, by channel.
    Registrations {
        #[command(flatten)]
        store: config::StoreArgs,
    },
}

fn init_logging(cli: &Cli) {
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let clock = SystemClock;
    match cli.command {
        Command::Serve(args) => cmd::serve::run(args).await,
        Command::Demo(args) => cmd::demo::run(args, &clock).await,
        Command::Import(command) => cmd::import::run(command, &clock).await,
        Command::Export(command) => cmd::export::run(command, &clock).await,
        Command::Insurer(command) => cmd::insurer::run(command, &clock).await,
        Command::Account(command) => cmd::account::run(command, &clock).await,
        Command::Totp { secret } => cmd::account::totp(&secret, &clock),
        Command::Gen(command) => cmd::generate::run(command, &clock),
        Command::Key(command) => cmd::key::run(command),
        Command::Facility(command) => cmd::facility::run(command, &clock).await,
        Command::Subsidy(command) => cmd::subsidy::run(command),
        Command::Publish(command) => cmd::publish::run(command, &clock).await,
        Command::Institution(command) => cmd::institution::run(command, &clock).await,
        Command::Employer(command) => cmd::employer::run(command, &clock).await,
        Command::Pki(command) => cmd::pki::run(command, &clock).await,
        Command::Reader(args) => cmd::reader::run(args, &clock).await,
        Command::Agent(args) => cmd::agent::run(args, &clock).await,
        Command::Register(args) => cmd::register::run(args).await,
        Command::Check(command) => cmd::check::run(command).await,
        Command::Audit(command) => cmd::audit::run(command, &clock).await,
        Command::Registrations { store } => cmd::registrations::run(store).await,
        Command::Loadgen(args) => cmd::loadgen::run(args).await,
    }
}

/// mimalloc instead of glibc's allocator: an import hands batches of rows from the reader thread
/// to the database thread, and glibc's per-thread arenas made a third of the staging time
/// `malloc`/`free`/`malloc_consolidate` (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // One crypto provider for every TLS use in the process (reqwest needs a process default).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    init_logging(&cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::ArchiveRejected(errors)) => {
            const SHOWN: usize = 50;
            for e in errors.iter().take(SHOWN) {
                eprintln!("{e}");
            }
            if errors.len() > SHOWN {
                eprintln!("… and {} more", errors.len() - SHOWN);
            }
            eprintln!(
                "error: refused: {} problem(s) in the archive; nothing was imported",
                errors.len()
            );
            ExitCode::from(65) // EX_DATAERR
        }
        Err(CliError::Rejected { errors, total }) => {
            for e in &errors {
                eprintln!("{e}");
            }
            if (errors.len() as u64) < total {
                eprintln!("… and {} more", total - errors.len() as u64);
            }
            eprintln!("error: refused: {total} problem(s) in the file; nothing was imported");
            ExitCode::from(65) // EX_DATAERR
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
