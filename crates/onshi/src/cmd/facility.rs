//! `onshi facility`: the operator's facilities (保険医療機関・薬局): the master, onboarding
//! (portal account, approval, credentials), card-reader applications, and API tokens.

use std::path::PathBuf;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use time::OffsetDateTime;

use onshi_domain::subsidy::SubsidyKind;
use onshi_domain::{Clock, FacilityCode, parse_date};
use onshi_store::Store;
use onshi_store::token::{self, TokenKind};

use crate::CliError;
use crate::config::{StoreArgs, open_store, operator};
use crate::facilities::{application, read_adoption, read_master};
use crate::import::Encoding;

#[derive(Debug, Subcommand)]
pub enum FacilityCommand {
    /// Import the facility master (施設マスタ): every line checked before anything is stored
    /// (`line N: column: reason`), all or nothing; importing the same file again changes
    /// nothing, a changed row is updated. Columns (header, any order): code, name, kind
    /// (病院 / 医科診療所 / 歯科診療所 / 薬局), prefecture (01–47), public (1: 公立・公的), beds,
    /// and for pharmacies chain_group, group_prescriptions (the group's prescriptions a month).
    ///
    /// Example: onshi gen facilities --out-dir master/ && onshi facility import master/facilities.csv
    Import {
        /// The master file.
        file: PathBuf,
        /// The file's encoding.
        #[arg(long, value_enum, default_value_t = Encoding::Utf8)]
        encoding: Encoding,
        /// Who does it, for the audit log. [default: $USER]
        #[arg(long, env = "ONSHI_OPERATOR")]
        operator: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Record portal accounts and card-reader applications from a file (the reader-ordering
    /// portal's export): code, portal_account_on, readers, readers_applied_on, delivered_on,
    /// installed_on (dates YYYY-MM-DD, Japan). The free readers follow the subsidy rules of the
    /// application's date. All or nothing; facilities must be in the master.
    ///
    /// Example: onshi facility adoption master/adoption.csv
    Adoption {
        /// The adoption file.
        file: PathBuf,
        /// The file's encoding.
        #[arg(long, value_enum, default_value_t = Encoding::Utf8)]
        encoding: Encoding,
        /// Subsidy rules to use instead of those shipped (a corrected copy of
        /// crates/onshi-domain/data/subsidy_rules.tsv).
        #[arg(long, env = "ONSHI_SUBSIDY_RULES")]
        subsidy_rules: Option<PathBuf>,
        /// Who does it, for the audit log. [default: $USER]
        #[arg(long, env = "ONSHI_OPERATOR")]
        operator: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// A facility of the master applies: its portal account opens (ポータルサイトアカウント登録).
    /// It gets no credentials until the operator approves it.
    ///
    /// Example: onshi facility apply --code 1311234567
    Apply {
        /// 医療機関コード.
        #[arg(long)]
        code: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List the facilities waiting for approval (a portal account, not approved).
    Waiting {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Approve a facility that applied, and print its first API token (shown once). Audited.
    /// Under mutual TLS, --network-pki also issues its client certificate from the network CA
    /// of `onshi pki network`.
    ///
    /// Example: onshi facility approve --code 1311234567 --network-pki onshi-pki
    Approve {
        /// 医療機関コード.
        #[arg(long)]
        code: String,
        /// The folder of `onshi pki network` (network-ca.pem and .key): write the facility's
        /// client certificate and key there as facility-CODE.pem and .key.
        #[arg(long, value_name = "DIR")]
        network_pki: Option<PathBuf>,
        /// Who approves, for the audit log. [default: $USER]
        #[arg(long, env = "ONSHI_OPERATOR")]
        operator: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Record a facility's card-reader application, its delivery and installation (準備完了).
    /// Operation (運用開始) is not recorded: it is the facility's first card check.
    ///
    /// Example: onshi facility readers --code 1311234567 --readers 1 --applied-on 2020-12-01
    Readers {
        /// 医療機関コード.
        #[arg(long)]
        code: String,
        /// Readers asked for.
        #[arg(long)]
        readers: u8,
        /// When they were applied for (YYYY-MM-DD).
        #[arg(long)]
        applied_on: String,
        /// When they were delivered.
        #[arg(long)]
        delivered_on: Option<String>,
        /// When they were installed and ready.
        #[arg(long)]
        installed_on: Option<String>,
        /// Subsidy rules to use instead of those shipped.
        #[arg(long, env = "ONSHI_SUBSIDY_RULES")]
        subsidy_rules: Option<PathBuf>,
        /// Who does it, for the audit log. [default: $USER]
        #[arg(long, env = "ONSHI_OPERATOR")]
        operator: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Show a facility as the operator sees it: master fields, onboarding, readers, operation.
    Show {
        /// 医療機関コード.
        #[arg(long)]
        code: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Register a facility outside the master and approve it at once, printing its API token
    /// (shown once): the operator's shortcut for a test or a facility not yet in the master.
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

fn facility_code(code: &str) -> Result<FacilityCode, CliError> {
    FacilityCode::parse(code).map_err(|e| CliError::Config(format!("--code: {e}")))
}

fn date_arg(flag: &str, text: Option<&str>) -> Result<Option<time::Date>, CliError> {
    text.map(|t| parse_date(t).map_err(|e| CliError::Config(format!("{flag}: {e}"))))
        .transpose()
}

/// Runs `onshi facility`.
pub async fn run(command: FacilityCommand, clock: &dyn Clock) -> Result<(), CliError> {
    match command {
        FacilityCommand::Import {
            file,
            encoding,
            operator: who,
            store,
        } => {
            let started = std::time::Instant::now();
            let rows = read_master(&file, encoding)?;
            let (store, _) = open_store(&store).await?;
            let bar = progress(rows.len() as u64, "storing");
            let counts = store
                .import_facilities(&rows, &operator(who), clock.now(), &mut |n| {
                    bar.set_position(n as u64)
                })
                .await?;
            bar.finish_and_clear();
            println!(
                "{} facilities: {} added, {} changed, {} unchanged ({:.1} s)",
                rows.len(),
                counts.added,
                counts.changed,
                counts.unchanged,
                started.elapsed().as_secs_f64()
            );
            store.close().await;
            Ok(())
        }
        FacilityCommand::Adoption {
            file,
            encoding,
            subsidy_rules,
            operator: who,
            store,
        } => {
            let rules = crate::cmd::subsidy::load_rules(subsidy_rules.as_deref())?;
            let lines = read_adoption(&file, encoding)?;
            let (store, _) = open_store(&store).await?;
            let (opened, recorded) =
                record_adoption(&store, &file, &lines, &rules, &operator(who), clock.now()).await?;
            println!("{opened} portal accounts opened, {recorded} reader applications recorded");
            store.close().await;
            Ok(())
        }
        FacilityCommand::Apply { code, store } => {
            let code = facility_code(&code)?;
            let (store, _) = open_store(&store).await?;
            let actor = onshi_store::Actor::Facility(code.clone());
            if store
                .open_portal_account(&code, &actor, clock.now())
                .await?
            {
                println!(
                    "{}: portal account opened; waiting for approval",
                    code.as_str()
                );
            } else {
                println!("{}: the portal account was open already", code.as_str());
            }
            store.close().await;
            Ok(())
        }
        FacilityCommand::Waiting { store } => {
            let (store, _) = open_store(&store).await?;
            for f in store.facilities_awaiting_approval(i64::MAX).await?.1 {
                println!(
                    "{}\t{}\t{}\t{}",
                    f.code.as_str(),
                    f.kind.map_or("-", |k| k.japanese()),
                    f.portal_account_at
                        .map(onshi_domain::japan::rfc3339_japan)
                        .unwrap_or_default(),
                    f.name
                );
            }
            store.close().await;
            Ok(())
        }
        FacilityCommand::Approve {
            code,
            network_pki,
            operator: who,
            store,
        } => {
            let code = facility_code(&code)?;
            // The network CA is read before anything is approved, so a wrong folder is named
            // while the facility still waits.
            let network = network_pki
                .map(|dir| {
                    let pki = crate::pki_dir::PkiDir(dir);
                    pki.network_ca().map(|ca| (pki, ca))
                })
                .transpose()?;
            let (store, _) = open_store(&store).await?;
            let token = approve(&store, &code, &operator(who), clock.now()).await?;
            println!("{}\t{token}", code.as_str());
            eprintln!("Keep the token now: only its hash is stored.");
            if let Some((pki, ca)) = network {
                let cert = pki.write_client(&ca, code.as_str(), clock.now())?;
                eprintln!(
                    "Client certificate for mutual TLS: {} (and its .key beside it)",
                    cert.display()
                );
            }
            store.close().await;
            Ok(())
        }
        FacilityCommand::Readers {
            code,
            readers,
            applied_on,
            delivered_on,
            installed_on,
            subsidy_rules,
            operator: who,
            store,
        } => {
            let code = facility_code(&code)?;
            let rules = crate::cmd::subsidy::load_rules(subsidy_rules.as_deref())?;
            let applied = date_arg("--applied-on", Some(&applied_on))?
                .ok_or_else(|| CliError::Config("--applied-on: is required".into()))?;
            let delivered = date_arg("--delivered-on", delivered_on.as_deref())?;
            let installed = date_arg("--installed-on", installed_on.as_deref())?;
            let (store, _) = open_store(&store).await?;
            let f = store
                .operator_facility(&code)
                .await?
                .and_then(|f| f.kind.map(|k| (k, f.large_chain)))
                .ok_or_else(|| CliError::Config("--code: is not in the facility master".into()))?;
            let app = application(
                &rules,
                SubsidyKind::of(f.0, f.1),
                readers,
                applied,
                delivered,
                installed,
            )
            .map_err(|e| CliError::Config(format!("--{e}")))?;
            store
                .record_reader_applications(&[(code.clone(), app)], &operator(who), clock.now())
                .await
                .map_err(|(_, e)| CliError::Store(e))?;
            println!(
                "{}: {} reader(s), {} free",
                code.as_str(),
                app.readers,
                app.free_readers
            );
            store.close().await;
            Ok(())
        }
        FacilityCommand::Show { code, store } => {
            let code = facility_code(&code)?;
            let (store, _) = open_store(&store).await?;
            let f = store
                .operator_facility(&code)
                .await?
                .ok_or(CliError::Store(onshi_store::StoreError::NotFound(
                    "facility",
                )))?;
            print!("{}", describe(&f));
            store.close().await;
            Ok(())
        }
        FacilityCommand::Add { code, name, store } => {
            let (store, _) = open_store(&store).await?;
            let token = add_facility(&store, &code, &name, clock.now()).await?;
            println!("{code}\t{token}\t{name}");
            eprintln!("Keep the token now: only its hash is stored.");
            store.close().await;
            Ok(())
        }
        FacilityCommand::Token { code, command } => {
            let code = code.ok_or_else(|| CliError::Config("--code: is required".into()))?;
            let code = facility_code(&code)?;
            crate::tokens::run(crate::tokens::Owner::Facility(code), command, clock).await
        }
    }
}

/// Records an adoption file's portal accounts and reader applications (the free readers by
/// `rules`), all or nothing; returns how many accounts opened and applications were recorded.
pub async fn record_adoption(
    store: &Store,
    file: &std::path::Path,
    lines: &[crate::facilities::AdoptionLine],
    rules: &onshi_domain::subsidy::SubsidyRules,
    actor: &onshi_store::Actor,
    at: OffsetDateTime,
) -> Result<(usize, usize), CliError> {
    let mut accounts = Vec::new();
    let mut apps = Vec::new();
    let master = store.master_kinds().await?;
    let bar = progress(lines.len() as u64, "checking");
    for (i, line) in lines.iter().enumerate() {
        bar.set_position(i as u64);
        let at_line =
            |e: String| CliError::Config(format!("{}: line {}: {e}", file.display(), line.line));
        if let Some(on) = line.portal_account_on {
            accounts.push((line.code.clone(), on));
        }
        if let Some((readers, applied, delivered, installed)) = line.readers {
            let (kind, large_chain) = *master
                .get(line.code.as_str())
                .ok_or_else(|| at_line("code: is not in the facility master".into()))?;
            let app = application(
                rules,
                SubsidyKind::of(kind, large_chain),
                readers,
                applied,
                delivered,
                installed,
            )
            .map_err(at_line)?;
            apps.push((line.code.clone(), app));
        }
    }
    bar.finish_and_clear();
    let opened = store
        .record_portal_accounts(&accounts, actor, at)
        .await
        .map_err(|(i, e)| refused_line(file, lines, &accounts, i, e))?;
    store
        .record_reader_applications(&apps, actor, at)
        .await
        .map_err(|(i, e)| refused_line(file, lines, &apps, i, e))?;
    Ok((opened, apps.len()))
}

/// The error of a refused set, naming the file's line of the `i`-th item.
fn refused_line<T>(
    file: &std::path::Path,
    lines: &[crate::facilities::AdoptionLine],
    items: &[(FacilityCode, T)],
    i: usize,
    e: onshi_store::StoreError,
) -> CliError {
    // Only a refusal of a row names a line; anything else is the store's own error.
    let reason = match e {
        onshi_store::StoreError::NotFound(_) => "code: is not in the facility master".to_owned(),
        onshi_store::StoreError::Conflict(why) => why,
        e => return CliError::Store(e),
    };
    let line = items
        .get(i)
        .and_then(|(code, _)| lines.iter().find(|l| &l.code == code))
        .map_or(0, |l| l.line);
    CliError::Config(format!(
        "{}: line {line}: {reason}; nothing was recorded",
        file.display()
    ))
}

fn progress(len: u64, what: &'static str) -> ProgressBar {
    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        ProgressBar::new(len)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what);
    bar
}

/// A facility in lines of `field: value`.
fn describe(f: &onshi_store::OperatorFacility) -> String {
    let day = |t: Option<OffsetDateTime>| {
        t.map(onshi_domain::japan::rfc3339_japan)
            .unwrap_or_else(|| "-".into())
    };
    let mut out = format!(
        "code: {}\nname: {}\nkind: {}\nprefecture: {}\npublic: {}\nbeds: {}\nlarge_chain: {}\n",
        f.code.as_str(),
        f.name,
        f.kind.map_or("- (not in the master)", |k| k.japanese()),
        f.prefecture
            .map_or("-".into(), |p| format!("{:02}", p.number())),
        f.public,
        f.beds,
        f.large_chain,
    );
    out += &format!(
        "portal_account: {}\napproved: {}\n",
        day(f.portal_account_at),
        day(f.approved_at)
    );
    match f.readers {
        Some(r) => {
            out += &format!(
                "readers: {} ({} free), applied {}, delivered {}, installed {}\n",
                r.readers,
                r.free_readers,
                r.applied_on,
                r.delivered_on.map_or("-".into(), |d| d.to_string()),
                r.installed_on.map_or("-".into(), |d| d.to_string()),
            );
        }
        None => out += "readers: -\n",
    }
    out += &format!("operating_since: {}\n", day(f.operating_since));
    out
}

/// Registers a facility outside the master, approved at once; its token has the `onshi_fac_`
/// prefix.
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

/// Approves a facility of the master that applied, and returns its first token.
pub async fn approve(
    store: &Store,
    code: &FacilityCode,
    actor: &onshi_store::Actor,
    at: OffsetDateTime,
) -> Result<String, CliError> {
    let (token, hash) = token::mint(TokenKind::Facility)
        .map_err(|_| CliError::Config("no system randomness".into()))?;
    store.approve_facility(code, &hash, actor, at).await?;
    Ok(token)
}
