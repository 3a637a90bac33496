//! `onshi`: the one binary. Each verb is a thin layer over the store and server crates.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use time::OffsetDateTime;

use onshi_domain::import::LineError;
use onshi_domain::{Clock, InsurerNumber};
use onshi_server::{AppState, SystemClock};
use onshi_store::{Actor, Store, StoreError};

mod agent;
mod cards;
mod config;
mod cpu;
mod demo;
mod import;
mod synth;

use config::{DEFAULT_LISTEN, FileConfig, StoreArgs};
use import::Encoding;

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
    Serve(ServeArgs),

    /// Create (once) a demo registry with synthetic insurers and members, then serve it.
    ///
    /// Everything lives under --dir: the SQLite database, its My Number key, the insurers' API
    /// tokens (demo-tokens.txt) and the member files it imported. Running it again reuses them.
    Demo(demo::DemoArgs),

    /// Import files into the registry.
    #[command(subcommand)]
    Import(ImportCommand),

    /// Register insurers and manage their API tokens.
    #[command(subcommand)]
    Insurer(InsurerCommand),

    /// Generate synthetic data (for demos, tests and benchmarks).
    #[command(subcommand)]
    Gen(GenCommand),

    /// Manage the key that turns My Numbers into person references.
    #[command(subcommand)]
    Key(KeyCommand),

    /// Register facilities (hospitals, clinics, pharmacies) and their API tokens.
    #[command(subcommand)]
    Facility(FacilityCommand),

    /// A demo public-key infrastructure: authorities, virtual cards, revocation lists.
    #[command(subcommand)]
    Pki(PkiCommand),

    /// Act as a face-authentication card reader: unlock a virtual card, sign a challenge, check
    /// eligibility, print the result.
    ///
    /// A failed face match or a wrong PIN never reaches the server; three wrong PINs lock the card.
    ///
    /// Example: onshi reader --facility-token $TOKEN --card onshi-demo/cards/valid.json --face ok --consent medication,checkup
    Reader(cards::ReaderArgs),

    /// Bridge a receipt computer's shared folder to the server: answer request XML dropped in
    /// DIR/req with result XML in DIR/res (UTF-8 or Shift_JIS, as the request).
    ///
    /// Example: onshi agent --facility-token $TOKEN --dir //terminal/OQS
    Agent(agent::AgentArgs),

    /// Register a card for insurance use (利用申込) from the portal, or at a facility's reader.
    Register(cards::RegisterArgs),

    /// Check eligibility without a card.
    #[command(subcommand)]
    Check(CheckCommand),

    /// Verify the audit log's hash chain.
    #[command(subcommand)]
    Audit(AuditCommand),

    /// Drive checks at a running server and report throughput and latency percentiles.
    ///
    /// Example: onshi loadgen --facility-token $TOKEN --path card --card onshi-demo/cards/valid.json --requests 2000
    Loadgen(cards::LoadArgs),

    /// Counts of registrations for insurance use, by channel.
    Registrations {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
enum FacilityCommand {
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
}

#[derive(Debug, Subcommand)]
enum PkiCommand {
    /// Create a card authority and a smartphone authority (RSA-2048) and empty CRLs in DIR.
    Init {
        /// The PKI folder.
        #[arg(long, default_value = "onshi-pki")]
        dir: PathBuf,
    },
    /// Issue a virtual card or smartphone for a person and record it in the certificate directory.
    Issue {
        /// The PKI folder.
        #[arg(long, default_value = "onshi-pki")]
        dir: PathBuf,
        /// card or smartphone.
        #[arg(long, value_enum, default_value_t = KindArg::Card)]
        kind: KindArg,
        /// The holder's My Number (kept only as its keyed hash).
        #[arg(long, env = "ONSHI_CARD_MY_NUMBER")]
        my_number: String,
        /// A label for people (no personal data).
        #[arg(long, default_value = "card")]
        label: String,
        /// The card file to write.
        #[arg(long)]
        out: PathBuf,
        /// Make the certificate already expired (for testing refusals).
        #[arg(long)]
        expired: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke a card's certificate and republish its authority's CRL.
    Revoke {
        /// The PKI folder.
        #[arg(long, default_value = "onshi-pki")]
        dir: PathBuf,
        /// The card file.
        #[arg(long)]
        card: PathBuf,
    },
    /// Create a demo network CA, the server's TLS certificate and facility client certificates
    /// (for `serve --tls-cert … --client-ca …` on a closed network).
    Network {
        /// The PKI folder.
        #[arg(long, default_value = "onshi-pki")]
        dir: PathBuf,
        /// The server's DNS name.
        #[arg(long, default_value = "localhost")]
        server_name: String,
        /// Facility codes to make client certificates for (repeatable).
        #[arg(long = "facility", value_name = "CODE")]
        facilities: Vec<String>,
    },
    /// Republish both CRLs (valid seven days from now).
    Crl {
        /// The PKI folder.
        #[arg(long, default_value = "onshi-pki")]
        dir: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KindArg {
    /// My Number card.
    Card,
    /// Smartphone certificate.
    Smartphone,
}

impl From<KindArg> for onshi_pki::CertKind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::Card => Self::Card,
            KindArg::Smartphone => Self::Smartphone,
        }
    }
}

#[derive(Debug, Subcommand)]
enum CheckCommand {
    /// Check by insurance-card number (保険者番号・記号・番号・枝番).
    ///
    /// Example: onshi check number --facility-token $TOKEN --insurer 01130012 --symbol 10 --number 1 --branch 00
    Number(cards::NumberArgs),
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain; names the first edited or missing entry (exit 1).
    Verify {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    store: StoreArgs,

    /// Address to listen on. [default: 127.0.0.1:8080]
    #[arg(long, env = "ONSHI_LISTEN", value_name = "ADDR")]
    listen: Option<String>,

    #[command(flatten)]
    trust: cards::TrustArgs,

    /// Serve HTTPS with this certificate chain (PEM).
    #[arg(
        long,
        env = "ONSHI_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    tls_cert: Option<PathBuf>,
    /// The TLS certificate's key (PEM).
    #[arg(long, env = "ONSHI_TLS_KEY", value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// Require facility client certificates chaining to this CA (mutual TLS); a certificate's
    /// common name must be the facility code of the token used over it.
    #[arg(
        long,
        env = "ONSHI_CLIENT_CA",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    client_ca: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// Import an insurer's member file (CSV with a header row), all or nothing.
    ///
    /// Columns (any order): insurer_number, symbol, number, branch, name, name_kana, birth_date,
    /// sex, relationship, qualified_from, qualified_until, copay_ratio, my_number, and optionally
    /// loss_reason and a 限度額適用認定証 (limit_class 01/02/03, limit_bracket A01–B10,
    /// limit_issued, limit_valid_from, limit_valid_until, limit_long_term_from). Dates are
    /// YYYY-MM-DD or YYYYMMDD; qualified_until and my_number may be empty.
    /// Any bad row refuses the whole file, listing every problem as `line N: field: reason`.
    /// Importing the same file again changes nothing; a changed row becomes a new version.
    ///
    /// On PostgreSQL, a first import of 10,000 rows or more into an empty registry is an initial
    /// load: it locks the member tables and builds their indexes after the rows are in, several
    /// times faster; meanwhile a server answers eligibility checks 503 (busy, with Retry-After)
    /// after waiting 5 s for the tables (they could only have found nobody).
    ///
    /// Example: onshi import members members.csv --encoding cp932
    Members {
        /// The CSV file.
        file: PathBuf,

        /// The file's character encoding.
        #[arg(long, value_enum, default_value_t = Encoding::Utf8)]
        encoding: Encoding,

        /// Who is importing, for the access log. [default: $USER]
        #[arg(long, env = "ONSHI_OPERATOR")]
        operator: Option<String>,

        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
enum InsurerCommand {
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
    /// Replace an insurer's API token (the old one stops working at once) and print the new one.
    Token {
        /// 保険者番号.
        #[arg(long)]
        number: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List registered insurers.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
enum GenCommand {
    /// Write a synthetic member file: households, dependants, changes of insurer, valid check digits.
    ///
    /// Example: onshi gen members --count 1000000 --out members.csv
    Members {
        /// How many member rows.
        #[arg(long, default_value_t = 10_000)]
        count: u64,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// Output encoding.
        #[arg(long, value_enum, default_value_t = Encoding::Utf8)]
        encoding: Encoding,
        /// Random seed (same seed, same file).
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Write the synthetic insurers (number,name) that `gen members` uses.
    Insurers {
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Write a new random My Number key (hex) to a file readable only by its owner.
    Generate {
        /// The key file to create (never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
}

/// Everything that can stop a verb, each with a message for the person at the terminal.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad configuration.
    #[error("{0}")]
    Config(String),
    /// A file could not be read or written.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The server refused a request (the message names why).
    #[error("refused: {0}")]
    Refused(String),
    /// A file was refused.
    #[error("refused: {total} problem(s) in the file; nothing was imported")]
    Rejected {
        /// The problems listed (at most `import::MAX_LISTED_ERRORS`).
        errors: Vec<LineError>,
        /// How many there were in all.
        total: u64,
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

fn operator(name: Option<String>) -> Actor {
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
async fn open_store(args: &StoreArgs) -> Result<(Store, onshi_domain::MyNumberKey), CliError> {
    open_store_waiting(args, None).await
}

/// Opens the store for a server: a statement waits [`SERVER_LOCK_WAIT`] at most for a lock.
pub(crate) async fn open_serving_store(
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

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}

/// The TLS files of `serve`.
pub(crate) struct TlsFiles {
    cert: PathBuf,
    key: PathBuf,
    client_ca: Option<PathBuf>,
}

/// Binds, prints the address (tests and scripts read this line), and serves until a signal.
pub(crate) async fn serve(
    store: Store,
    key: onshi_domain::MyNumberKey,
    listen: &str,
    trust: &cards::TrustArgs,
    tls: Option<TlsFiles>,
) -> Result<(), CliError> {
    let addr: SocketAddr = listen.parse().map_err(|_| {
        CliError::Config(format!(
            "--listen: '{listen}' is not an address like 127.0.0.1:8080"
        ))
    })?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| CliError::Io(listen.to_owned(), e))?;
    let local = listener
        .local_addr()
        .map_err(|e| CliError::Io(listen.to_owned(), e))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!(
        "onshi is listening on {scheme}://{local} (store: {})",
        store.backend_name()
    );
    let state = AppState::new(
        store.clone(),
        std::sync::Arc::new(SystemClock),
        key,
        trust.load(std::sync::Arc::new(SystemClock)).await?,
    );
    match tls {
        None => onshi_server::serve(listener, state, shutdown_signal()).await,
        Some(files) => {
            let read = |p: &PathBuf| {
                std::fs::read(p).map_err(|e| CliError::Io(p.display().to_string(), e))
            };
            let ca = files.client_ca.as_ref().map(read).transpose()?;
            let config = onshi_server::tls::server_config(
                &read(&files.cert)?,
                &read(&files.key)?,
                ca.as_deref(),
            )
            .map_err(|e| CliError::Config(e.to_string()))?;
            tracing::info!(mutual = ca.is_some(), "serving HTTPS");
            onshi_server::tls::serve_tls(listener, state, config, shutdown_signal()).await
        }
    }
    .map_err(|e| CliError::Io(local.to_string(), e))?;
    store.close().await;
    Ok(())
}

async fn add_insurer(
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
    let (token, hash) = onshi_server::auth::new_token()
        .map_err(|_| CliError::Config("no system randomness".into()))?;
    store.create_insurer(&number, name, &hash, at).await?;
    Ok(token)
}

/// Registers a facility; its token has the `onshi_fac_` prefix.
pub(crate) async fn add_facility(
    store: &Store,
    code: &str,
    name: &str,
    at: OffsetDateTime,
) -> Result<String, CliError> {
    let code = onshi_domain::FacilityCode::parse(code)
        .map_err(|e| CliError::Config(format!("--code: {e}")))?;
    let (token, _) = onshi_server::auth::new_token()
        .map_err(|_| CliError::Config("no system randomness".into()))?;
    let token = token.replacen(onshi_server::auth::TOKEN_PREFIX, "onshi_fac_", 1);
    store
        .create_facility(
            &code,
            name.trim(),
            &onshi_server::auth::hash_token(&token),
            at,
        )
        .await?;
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

async fn run(cli: Cli) -> Result<(), CliError> {
    let clock = SystemClock;
    match cli.command {
        Command::Serve(args) => {
            let file = FileConfig::load(args.store.config.as_deref())?;
            let listen = args
                .listen
                .or(file.listen)
                .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
            let (store, key) = open_serving_store(&args.store).await?;
            let tls = match (args.tls_cert, args.tls_key) {
                (Some(cert), Some(key)) => Some(TlsFiles {
                    cert,
                    key,
                    client_ca: args.client_ca,
                }),
                _ => None,
            };
            serve(store, key, &listen, &args.trust, tls).await
        }
        Command::Demo(args) => demo::run(args, &clock).await,
        Command::Import(ImportCommand::Members {
            file,
            encoding,
            operator: who,
            store,
        }) => {
            let (store, key) = open_store(&store).await?;
            let job = import::ImportJob {
                path: &file,
                encoding,
                actor: operator(who),
                progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
            };
            let report = import::import_members(&store, &key, &clock, job).await?;
            let o = report.outcome;
            println!(
                "imported {}: {} rows ({} created, {} changed, {} unchanged{}) in {:.1} s, {:.0} rows/s",
                file.display(),
                o.rows,
                o.created,
                o.changed,
                o.unchanged,
                if o.initial_load {
                    "; an initial load"
                } else {
                    ""
                },
                report.seconds,
                report.rows_per_second()
            );
            store.close().await;
            Ok(())
        }
        Command::Insurer(InsurerCommand::Add {
            number,
            name,
            from,
            store,
        }) => {
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
        Command::Insurer(InsurerCommand::Token { number, store }) => {
            let (store, _) = open_store(&store).await?;
            let number = InsurerNumber::parse(&number)
                .map_err(|e| CliError::Config(format!("--number: {e}")))?;
            let (token, hash) = onshi_server::auth::new_token()
                .map_err(|_| CliError::Config("no system randomness".into()))?;
            store.set_insurer_token(&number, &hash).await?;
            println!("{number}\t{token}");
            store.close().await;
            Ok(())
        }
        Command::Insurer(InsurerCommand::List { store }) => {
            let (store, _) = open_store(&store).await?;
            for i in store.insurers().await? {
                println!("{}\t{}\t{}", i.number, i.number.kind().japanese(), i.name);
            }
            store.close().await;
            Ok(())
        }
        Command::Gen(GenCommand::Members {
            count,
            out,
            encoding,
            seed,
        }) => {
            let today = clock.now().date();
            let n = synth::write_csv(synth::Population::new(count, seed, today), &out, encoding)?;
            println!("wrote {n} members to {}", out.display());
            Ok(())
        }
        Command::Gen(GenCommand::Insurers { out }) => {
            let mut text = String::from("number,name\n");
            for (n, name) in synth::insurers() {
                text.push_str(&format!("{n},{name}\n"));
            }
            std::fs::write(&out, text).map_err(|e| CliError::Io(out.display().to_string(), e))?;
            println!(
                "wrote {} insurers to {}",
                synth::insurers().len(),
                out.display()
            );
            Ok(())
        }
        Command::Facility(FacilityCommand::Add { code, name, store }) => {
            let (store, _) = open_store(&store).await?;
            let token = add_facility(&store, &code, &name, clock.now()).await?;
            println!("{code}\t{token}\t{name}");
            eprintln!("Keep the token now: only its hash is stored.");
            store.close().await;
            Ok(())
        }
        Command::Pki(PkiCommand::Init { dir }) => {
            cards::PkiDir(dir.clone()).init(clock.now())?;
            println!(
                "created a card authority and a smartphone authority in {}",
                dir.display()
            );
            Ok(())
        }
        Command::Pki(PkiCommand::Issue {
            dir,
            kind,
            my_number,
            label,
            out,
            expired,
            store,
        }) => {
            let (store, key) = open_store(&store).await?;
            let now = clock.now();
            let valid = if expired {
                (
                    now - time::Duration::days(400),
                    now - time::Duration::days(1),
                )
            } else {
                (
                    now - time::Duration::days(1),
                    now + time::Duration::days(5 * 365),
                )
            };
            let card = cards::PkiDir(dir)
                .issue(&store, &key, kind.into(), &my_number, &label, valid, now)
                .await?;
            cards::write_card(&out, &card)?;
            println!("wrote {} ({}, PIN 1234)", out.display(), card.kind.as_str());
            store.close().await;
            Ok(())
        }
        Command::Pki(PkiCommand::Revoke { dir, card }) => {
            let c = cards::read_card(&card)?;
            cards::PkiDir(dir).revoke(&c, clock.now())?;
            println!(
                "revoked {} and republished the {} CRL",
                card.display(),
                c.kind.as_str()
            );
            Ok(())
        }
        Command::Pki(PkiCommand::Network {
            dir,
            server_name,
            facilities,
        }) => {
            cards::PkiDir(dir.clone()).network(&server_name, &facilities, clock.now())?;
            println!(
                "wrote network-ca.pem, server.pem/.key and {} facility certificates in {}",
                facilities.len(),
                dir.display()
            );
            Ok(())
        }
        Command::Pki(PkiCommand::Crl { dir }) => {
            let pki = cards::PkiDir(dir);
            for kind in [onshi_pki::CertKind::Card, onshi_pki::CertKind::Smartphone] {
                pki.publish(kind, clock.now())?;
            }
            println!("republished both CRLs (valid 7 days)");
            Ok(())
        }
        Command::Reader(args) => {
            cards::set_client_tls(&args.tls)?;
            cards::reader(&args).await
        }
        Command::Agent(args) => {
            cards::set_client_tls(&args.tls)?;
            agent::run(&args).await
        }
        Command::Loadgen(args) => {
            cards::set_client_tls(&args.tls)?;
            cards::loadgen(&args).await
        }
        Command::Register(args) => {
            cards::set_client_tls(&args.tls)?;
            cards::register(&args).await
        }
        Command::Check(CheckCommand::Number(args)) => {
            cards::set_client_tls(&args.tls)?;
            cards::check_number(&args).await
        }
        Command::Audit(AuditCommand::Verify { store }) => {
            let (store, _) = open_store(&store).await?;
            let result = store.verify_audit().await?;
            store.close().await;
            match result {
                Ok(n) => {
                    println!("audit log intact: {n} entries, every hash verified");
                    Ok(())
                }
                Err(broken) => Err(CliError::Refused(format!("audit log broken at {broken}"))),
            }
        }
        Command::Registrations { store } => {
            let (store, _) = open_store(&store).await?;
            for (channel, n) in store.registration_counts().await? {
                println!("{channel}\t{n}");
            }
            store.close().await;
            Ok(())
        }
        Command::Key(KeyCommand::Generate { out }) => {
            config::write_new_key(&out)?;
            println!(
                "wrote a new My Number key to {} (back it up with the database)",
                out.display()
            );
            Ok(())
        }
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
