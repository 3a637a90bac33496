//! `onshi serve`: the HTTP API, its trust anchors and CRLs for card checks, and HTTPS with
//! mutual TLS.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, ValueEnum};

use onshi_domain::{Clock, MyNumberKey};
use onshi_pki::{CertKind, StalePolicy};
use onshi_server::connections::ConnectionSettings;
use onshi_server::eligibility::limits::{RateLimitConfig, RateLimits};
use onshi_server::trust::{Trust, TrustSources};
use onshi_server::{AppState, SystemClock};
use onshi_store::Store;

use crate::CliError;
use crate::config::{DEFAULT_LISTEN, FileConfig, StoreArgs, open_serving_store};

/// `onshi serve` options.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,

    /// Address to listen on. [default: 127.0.0.1:8080]
    #[arg(long, env = "ONSHI_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,

    #[command(flatten)]
    pub trust: TrustArgs,

    /// Serve HTTPS with this certificate chain (PEM).
    #[arg(
        long,
        env = "ONSHI_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The TLS certificate's key (PEM).
    #[arg(long, env = "ONSHI_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Require facility client certificates chaining to this CA (mutual TLS); a certificate's
    /// common name must be the facility code of the token used over it.
    #[arg(
        long,
        env = "ONSHI_CLIENT_CA",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub client_ca: Option<PathBuf>,
    /// The directory of signed audit checkpoints (`onshi audit checkpoint --dir`), served at
    /// /v1/audit/checkpoint for anyone to keep a copy.
    #[arg(long, env = "ONSHI_AUDIT_CHECKPOINTS", value_name = "DIR")]
    pub audit_checkpoints: Option<PathBuf>,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub operator: OperatorArgs,
}

/// The operator's side of `serve` and `demo`: the subsidy rules in force and the weekly
/// publication's day.
#[derive(Debug, Clone, Default, Args)]
pub struct OperatorArgs {
    /// A corrected card-reader subsidy rules file instead of the one shipped (same columns as
    /// crates/onshi-domain/data/subsidy_rules.tsv); a bad file stops the start, naming its line.
    #[arg(long, env = "ONSHI_SUBSIDY_RULES", value_name = "FILE")]
    pub subsidy_rules: Option<PathBuf>,
    /// The day (Japan) the public hospitals' edition is published by the server's scheduler:
    /// monday … sunday, or off (publish by hand with `onshi publish weekly`). [default: monday]
    #[arg(long, env = "ONSHI_WEEKLY_ON", value_name = "DAY")]
    pub weekly_on: Option<String>,
}

impl OperatorArgs {
    /// The settings from the flags (or environment), then the file, every problem named by
    /// its flag.
    pub fn settings(&self, file: &FileConfig) -> Result<OperatorSettings, CliError> {
        let rules_file = self.subsidy_rules.as_ref().or(file.subsidy_rules.as_ref());
        let rules = crate::cmd::subsidy::load_rules(rules_file.map(PathBuf::as_path))?;
        let day = self.weekly_on.as_ref().or(file.weekly_on.as_ref());
        let weekly_on = match day.map(|d| d.to_ascii_lowercase()).as_deref() {
            None | Some("monday") => Some(time::Weekday::Monday),
            Some("tuesday") => Some(time::Weekday::Tuesday),
            Some("wednesday") => Some(time::Weekday::Wednesday),
            Some("thursday") => Some(time::Weekday::Thursday),
            Some("friday") => Some(time::Weekday::Friday),
            Some("saturday") => Some(time::Weekday::Saturday),
            Some("sunday") => Some(time::Weekday::Sunday),
            Some("off") => None,
            Some(other) => {
                return Err(CliError::Config(format!(
                    "--weekly-on: '{other}' is not monday … sunday or off"
                )));
            }
        };
        Ok(OperatorSettings {
            subsidy_rules: Arc::new(rules),
            weekly_on,
            audit_checkpoints: None,
        })
    }
}

/// What the operator set for a server: subsidy rules, publication day, audit checkpoints.
#[derive(Debug, Clone)]
pub struct OperatorSettings {
    /// The subsidy rules in force.
    pub subsidy_rules: Arc<onshi_domain::subsidy::SubsidyRules>,
    /// The weekly publication's day.
    pub weekly_on: Option<time::Weekday>,
    /// Where signed audit checkpoints are kept.
    pub audit_checkpoints: Option<PathBuf>,
}

/// The per-facility rate limits and the connection limit of `serve` and `demo`.
#[derive(Debug, Clone, Default, Args)]
pub struct LimitArgs {
    /// Checks a facility may make per minute (also its burst), against harvesting by card
    /// number; over it, 429 with Retry-After. 0 switches the limit off. [default: 600]
    #[arg(long, env = "ONSHI_CHECK_LIMIT", value_name = "N")]
    pub check_limit: Option<u32>,
    /// Look-ups by card number that matched no one (unknown card, or another birth date) a
    /// facility may make per hour; over it, its number look-ups are refused (429) and the
    /// operator is alerted in the log and the audit log. 0 switches the limit off.
    /// [default: 100]
    #[arg(long, env = "ONSHI_MISMATCH_LIMIT", value_name = "N")]
    pub mismatch_limit: Option<u32>,
    /// Connections kept open at once. At the limit, the connection idle longest makes room
    /// for a new one, so idle or half-sent connections cannot stop service; keep the open-file
    /// limit (ulimit -n) above it. [default: 10000]
    #[arg(long, env = "ONSHI_MAX_CONNECTIONS", value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: Option<u32>,
}

impl LimitArgs {
    /// The connection settings from the flags (or environment), then the file, then the
    /// defaults.
    pub fn connections(&self, file: &FileConfig) -> ConnectionSettings {
        let mut settings = ConnectionSettings::default();
        if let Some(n) = self.max_connections.or(file.max_connections) {
            settings.max_connections = usize::try_from(n).unwrap_or(usize::MAX);
        }
        settings
    }

    /// The rate limits from the flags (or environment), then the file, then the defaults.
    pub fn rates(&self, file: &FileConfig) -> RateLimitConfig {
        let mut limits = RateLimitConfig::default();
        if let Some(n) = self.check_limit.or(file.check_limit) {
            limits.checks.capacity = n;
        }
        if let Some(n) = self.mismatch_limit.or(file.mismatch_limit) {
            limits.mismatches.capacity = n;
        }
        limits
    }
}

/// Runs `onshi serve`.
pub async fn run(args: ServeArgs) -> Result<(), CliError> {
    let file = FileConfig::load(args.store.config.as_deref())?;
    let limits = (args.limits.rates(&file), args.limits.connections(&file));
    let mut operator = args.operator.settings(&file)?;
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
    operator.audit_checkpoints = args.audit_checkpoints;
    serve(store, key, &listen, &args.trust, tls, operator, limits).await
}

/// Where `serve` finds trust anchors and CRLs for card checks.
#[derive(Debug, Clone, Default, Args)]
pub struct TrustArgs {
    /// Trust anchor for My Number card certificates (PEM; repeatable).
    #[arg(
        long = "card-root",
        env = "ONSHI_CARD_ROOTS",
        value_delimiter = ',',
        value_name = "FILE"
    )]
    pub card_roots: Vec<PathBuf>,
    /// Trust anchor for smartphone certificates (PEM; repeatable).
    #[arg(
        long = "smartphone-root",
        env = "ONSHI_SMARTPHONE_ROOTS",
        value_delimiter = ',',
        value_name = "FILE"
    )]
    pub smartphone_roots: Vec<PathBuf>,
    /// A CRL file or http:// URL (PEM or DER; repeatable), reloaded every --crl-refresh seconds.
    #[arg(
        long = "crl",
        env = "ONSHI_CRLS",
        value_delimiter = ',',
        value_name = "FILE|URL"
    )]
    pub crls: Vec<String>,
    /// What to do when a CRL is past its nextUpdate: refuse card checks (reject) or go on (accept).
    #[arg(long, env = "ONSHI_CRL_STALE_POLICY", value_enum, default_value_t = StaleArg::Reject)]
    pub crl_stale_policy: StaleArg,
    /// Seconds between CRL reloads.
    #[arg(long, env = "ONSHI_CRL_REFRESH", default_value_t = 300)]
    pub crl_refresh: u64,
}

/// `--crl-stale-policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum StaleArg {
    /// Refuse card checks against a stale CRL (safe default).
    #[default]
    Reject,
    /// Keep checking against the stale CRL; /healthz reports it.
    Accept,
}

impl TrustArgs {
    /// True when no anchor is configured (card checks then answer 503).
    pub fn is_empty(&self) -> bool {
        self.card_roots.is_empty() && self.smartphone_roots.is_empty()
    }

    async fn sources(&self) -> Result<TrustSources, CliError> {
        let mut sources = TrustSources::default();
        for (kind, files) in [
            (CertKind::Card, &self.card_roots),
            (CertKind::Smartphone, &self.smartphone_roots),
        ] {
            for f in files {
                sources
                    .anchors
                    .push((kind, std::fs::read(f).map_err(io(f))?));
            }
        }
        for c in &self.crls {
            let bytes = if c.starts_with("http://") || c.starts_with("https://") {
                let resp = reqwest::get(c)
                    .await
                    .map_err(|e| CliError::Config(format!("CRL {c}: {e}")))?;
                let resp = resp
                    .error_for_status()
                    .map_err(|e| CliError::Config(format!("CRL {c}: {e}")))?;
                resp.bytes()
                    .await
                    .map_err(|e| CliError::Config(format!("CRL {c}: {e}")))?
                    .to_vec()
            } else {
                std::fs::read(c).map_err(io(Path::new(c)))?
            };
            sources.crls.push(bytes);
        }
        Ok(sources)
    }

    /// Loads anchors and CRLs, and starts reloading the CRLs in the background.
    pub async fn load(&self, clock: Arc<dyn Clock>) -> Result<Arc<Trust>, CliError> {
        if self.is_empty() {
            tracing::warn!(
                "no trust anchors configured (--card-root, --smartphone-root): card checks will answer 503"
            );
            return Ok(Arc::new(Trust::none()));
        }
        let policy = match self.crl_stale_policy {
            StaleArg::Reject => StalePolicy::Reject,
            StaleArg::Accept => StalePolicy::Accept,
        };
        let trust = Arc::new(
            Trust::new(&self.sources().await?, policy, clock.now())
                .map_err(|e| CliError::Config(e.to_string()))?,
        );
        let (args, refreshed) = (self.clone(), Arc::clone(&trust));
        tokio::spawn(async move {
            let mut tick =
                tokio::time::interval(std::time::Duration::from_secs(args.crl_refresh.max(1)));
            tick.tick().await;
            loop {
                tick.tick().await;
                match args.sources().await {
                    Ok(s) => {
                        if let Err(e) = refreshed.reload(&s, clock.now()) {
                            tracing::warn!(error = %e, "CRL reload failed; keeping the previous ones");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "CRL reload failed; keeping the previous ones")
                    }
                }
            }
        });
        Ok(trust)
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
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
pub struct TlsFiles {
    /// The certificate chain (PEM).
    pub cert: PathBuf,
    /// Its key (PEM).
    pub key: PathBuf,
    /// The facilities' CA, for mutual TLS.
    pub client_ca: Option<PathBuf>,
}

/// Binds, prints the address (tests and scripts read this line), and serves until a signal.
pub async fn serve(
    store: Store,
    key: MyNumberKey,
    listen: &str,
    trust: &TrustArgs,
    tls: Option<TlsFiles>,
    operator: OperatorSettings,
    (limits, connections): (RateLimitConfig, ConnectionSettings),
) -> Result<(), CliError> {
    let addr: SocketAddr = listen.parse().map_err(|_| {
        CliError::Config(format!(
            "--listen: '{listen}' is not an address like 127.0.0.1:8080"
        ))
    })?;
    let listener = bind(addr).map_err(|e| CliError::Io(listen.to_owned(), e))?;
    let local = listener
        .local_addr()
        .map_err(|e| CliError::Io(listen.to_owned(), e))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!(
        "onshi is listening on {scheme}://{local} (store: {})",
        store.backend_name()
    );
    let mut state = AppState::new(
        store.clone(),
        Arc::new(SystemClock),
        key,
        trust.load(Arc::new(SystemClock)).await?,
    );
    state.audit_checkpoints = operator.audit_checkpoints;
    state.subsidy_rules = Some(operator.subsidy_rules);
    state.weekly_on = operator.weekly_on;
    state.rate_limits = Arc::new(RateLimits::new(limits));
    state.secure_cookies = tls.is_some();
    match tls {
        None => onshi_server::serve(listener, state, connections, shutdown_signal()).await,
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
            onshi_server::tls::serve_tls(listener, state, config, connections, shutdown_signal())
                .await
        }
    }
    .map_err(|e| CliError::Io(local.to_string(), e))?;
    store.close().await;
    Ok(())
}

/// How many connections the kernel queues for the server before it accepts them (Linux caps it
/// at net.core.somaxconn): above the usual 1,024, so a burst of connections is queued rather
/// than made to retry.
const LISTEN_BACKLOG: u32 = 4096;

fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> CliError + '_ {
    move |e| CliError::Io(path.display().to_string(), e)
}
