//! `onshi demo`: a registry with synthetic data in one folder, made once, then served.

use std::path::PathBuf;

use clap::Args;

use onshi_domain::Clock;

use onshi_pki::CertKind;

use crate::cards::write_card;
use crate::cmd::facility::approve;
use crate::cmd::insurer::add_insurer;
use crate::cmd::serve::{TrustArgs, serve};
use crate::config::{StoreArgs, open_serving_store, operator};
use crate::import::{Encoding, ImportJob, import_members};
use crate::pki_dir::PkiDir;
use crate::{CliError, synth};

/// `onshi demo` options.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The folder for the demo's database, key, tokens and files.
    #[arg(long, default_value = "onshi-demo")]
    dir: PathBuf,

    /// Address to serve on (port 0 picks a free one).
    #[arg(long, env = "ONSHI_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,

    /// How many synthetic members to create on first run.
    #[arg(long, default_value_t = 30_000)]
    members: u64,

    /// Set up the demo and exit without serving.
    #[arg(long)]
    no_serve: bool,

    #[command(flatten)]
    limits: super::serve::LimitArgs,

    #[command(flatten)]
    operator: super::serve::OperatorArgs,
}

const TOKENS_FILE: &str = "demo-tokens.txt";
const STAFF_FILE: &str = "demo-staff.txt";
const MEMBERS_FILE: &str = "demo-members.csv";
const MEMBERS_SJIS_FILE: &str = "demo-members-sjis.csv";
const CHECKUPS_DIR: &str = "checkups";
/// Where the demo writes the guidance archives (実施区分 2) it imports.
const GUIDANCE_DIR: &str = "guidance";

/// Runs `onshi demo`.
pub async fn run(args: DemoArgs, clock: &dyn Clock) -> Result<(), CliError> {
    let db = format!("sqlite:{}", args.dir.join("onshi.db").display());
    let store_args = StoreArgs {
        db: Some(db.clone()),
        my_number_key_file: None,
        db_connections: None,
        config: None,
    };
    // A bad rules file or day is named before anything is set up.
    let settings = args
        .operator
        .settings(&crate::config::FileConfig::default())?;
    let (store, key) = open_serving_store(&store_args).await?;
    let tokens_path = args.dir.join(TOKENS_FILE);
    let members_path = args.dir.join(MEMBERS_FILE);

    if store.insurers().await?.is_empty() {
        println!("Setting up the demo in {} (once) …", args.dir.display());
        let mut tokens = String::from(
            "# insurer_number  api_token  name   (demo only: real tokens are shown once and never written down)\n",
        );
        for (number, name) in synth::insurers() {
            let token = add_insurer(&store, number.as_str(), &name, clock.now()).await?;
            tokens.push_str(&format!("{number}  {token}  {name}\n"));
        }
        std::fs::write(&tokens_path, tokens)
            .map_err(|e| CliError::Io(tokens_path.display().to_string(), e))?;
        let today = onshi_domain::japan::japan_date(clock.now());
        synth::write_csv(
            synth::Population::new(args.members, 1, today),
            &members_path,
            Encoding::Utf8,
        )?;
        synth::write_csv(
            synth::Population::new(args.members, 1, today),
            &args.dir.join(MEMBERS_SJIS_FILE),
            Encoding::Cp932,
        )?;
        let job = ImportJob {
            path: &members_path,
            encoding: Encoding::Utf8,
            actor: operator(Some("demo".into())),
            progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        };
        let report = import_members(&store, &key, clock, job).await?;
        println!(
            "Imported {} synthetic members in {:.1} s ({:.0} rows/s).",
            report.outcome.rows,
            report.seconds,
            report.rows_per_second()
        );
        setup_facilities(&args, &store, clock).await?;
        setup_cards(&args, &store, &key, clock, &tokens_path, &members_path).await?;
        setup_employers(&store, clock).await?;
        setup_checkups(&args, &store, clock, today).await?;
        setup_staff(&args, &store, &key, clock).await?;
    }
    print_guide(&args, &db, &store).await?;
    if args.no_serve {
        store.close().await;
        return Ok(());
    }
    let pki = PkiDir(args.dir.join("pki"));
    let trust = TrustArgs {
        card_roots: vec![pki.root(CertKind::Card)],
        smartphone_roots: vec![pki.root(CertKind::Smartphone)],
        crls: vec![
            pki.crl(CertKind::Card).display().to_string(),
            pki.crl(CertKind::Smartphone).display().to_string(),
        ],
        crl_refresh: 60,
        ..TrustArgs::default()
    };
    serve(
        store,
        key,
        &args.listen,
        &trust,
        None,
        settings,
        (
            args.limits.rates(&crate::config::FileConfig::default()),
            args.limits
                .connections(&crate::config::FileConfig::default()),
        ),
    )
    .await
}

/// Three fiscal years of checkups for the demo's members, written as standard archives into
/// `checkups/` and imported; the institutions that sent them registered.
async fn setup_checkups(
    args: &DemoArgs,
    store: &onshi_store::Store,
    clock: &dyn Clock,
    today: time::Date,
) -> Result<(), CliError> {
    let dir = args.dir.join(CHECKUPS_DIR);
    let written = crate::synth_checkups::write_archives(
        synth::Population::new(args.members, 1, today),
        &dir,
        1,
        today,
        3,
        50_000,
        |_| {},
    )?;
    let mut seen = std::collections::BTreeSet::new();
    for (number, _) in synth::insurers() {
        let institution = crate::synth_checkups::institution_for(&number);
        if seen.insert(institution.clone())
            && let Ok(n) = onshi_domain::InstitutionNumber::parse(&institution)
        {
            let (_, hash) = onshi_store::token::mint(onshi_store::token::TokenKind::Institution)
                .map_err(|_| CliError::Config("no system randomness".into()))?;
            store
                .create_institution(
                    &n,
                    "オンシ健診センター",
                    &hash,
                    clock.now(),
                    &operator(Some("demo".into())),
                )
                .await?;
        }
    }
    let totals =
        crate::cmd::import::import_checkups(store, &[dir], operator(Some("demo".into())), clock)
            .await?;
    println!(
        "Imported {} synthetic checkups ({} employer checkups under 40) of three fiscal years in {:.1} s.",
        written.checkups, written.employer_checkups, totals.seconds
    );
    // The guidance their institutions report for the targets the import judged, as guidance
    // archives (実施区分 2) through the same import.
    let started = std::time::Instant::now();
    let this_year = onshi_store::fiscal_year(today);
    let insurers: Vec<onshi_domain::InsurerNumber> =
        synth::insurers().into_iter().map(|(n, _)| n).collect();
    let guidance = crate::synth_guidance::write_guidance_archives(
        store,
        &operator(Some("demo".into())),
        &insurers,
        this_year - 2..=this_year,
        today,
        clock.now(),
        &args.dir.join(GUIDANCE_DIR),
        1,
    )
    .await?;
    if !guidance.archives.is_empty() {
        crate::cmd::import::import_checkups(
            store,
            &guidance.archives,
            operator(Some("demo".into())),
            clock,
        )
        .await?;
    }
    println!(
        "Recorded {} synthetic guidance steps (first interviews, completions, drop-outs) from {} guidance archives in {:.1} s.",
        guidance.steps,
        guidance.archives.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn print_guide(
    args: &DemoArgs,
    db: &str,
    store: &onshi_store::Store,
) -> Result<(), CliError> {
    let (insurers, members, versions) = store.counts().await?;
    let tokens_path = args.dir.join(TOKENS_FILE);
    let tokens = std::fs::read_to_string(&tokens_path).unwrap_or_default();
    let first = tokens
        .lines()
        .find(|l| !l.starts_with('#'))
        .unwrap_or_default();
    let mut parts = first.split_whitespace();
    let (number, token) = (
        parts.next().unwrap_or("01130012"),
        parts.next().unwrap_or("<token>"),
    );
    let sample = std::fs::read_to_string(args.dir.join(MEMBERS_FILE))
        .ok()
        .and_then(|text| {
            text.lines()
                .skip(1)
                .find(|l| l.starts_with(number))
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let f: Vec<&str> = sample.split(',').collect();
    let (symbol, card, branch) = (
        f.get(1).copied().unwrap_or(""),
        f.get(2).copied().unwrap_or(""),
        f.get(3).copied().unwrap_or(""),
    );
    let base = format!("http://{}", args.listen);
    println!(
        "\nThe demo registry ({db}): {insurers} insurers, {members} members, {versions} versions.\n\
         Insurer API tokens: {tokens}\n\
         \n\
         Try, once the server is up (the address is printed below):\n\
         \x20 curl {base}/healthz\n\
         \x20 curl {base}/openapi.json\n\
         \x20 curl -H 'Authorization: Bearer {token}' '{base}/v1/members?limit=3'\n\
         \x20 curl -H 'Authorization: Bearer {token}' '{base}/v1/members?symbol={symbol}&number={card}&branch={branch}'\n\
         \x20 curl -H 'Authorization: Bearer {token}' '{base}/v1/members?as_of=2024-04-01&limit=3'\n\
         \n\
         Import the same members again, from the Shift_JIS copy: nothing changes.\n\
         \x20 onshi import members {sjis} --encoding cp932 --db {db}\n",
        tokens = tokens_path.display(),
        sjis = args.dir.join(MEMBERS_SJIS_FILE).display(),
    );
    let facility = tokens
        .lines()
        .find(|l| l.starts_with(crate::synth_facilities::DEMO_FACILITIES[0].0))
        .and_then(|l| l.split_whitespace().nth(1));
    if let Some(ftoken) = facility {
        let cards = args.dir.join("cards");
        let server = if args.listen == "127.0.0.1:8080" {
            String::new()
        } else {
            format!(" --server {base}")
        };
        println!(
            "Card checks at {} (onshi is target/release/onshi):",
            crate::synth_facilities::DEMO_FACILITIES[0].1
        );
        for (card, extra) in [
            ("valid", " --consent medication,checkup,limit"),
            ("smartphone", ""),
            ("revoked", ""),
            ("expired", ""),
            ("unregistered", ""),
            ("moved", ""),
        ] {
            println!(
                "  onshi reader{server} --facility-token {ftoken} --card {} --face ok{extra}",
                cards.join(format!("{card}.json")).display()
            );
        }
        if let Ok(old) = std::fs::read_to_string(cards.join("moved-old-card.txt")) {
            let f: std::collections::HashMap<&str, &str> = old
                .split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .collect();
            println!(
                "  onshi check number{server} --facility-token {ftoken} --insurer {} --symbol {} --number {} --branch {} --birth-date {}   (the old card: 3)",
                f.get("insurer_number").unwrap_or(&""),
                f.get("symbol").unwrap_or(&""),
                f.get("number").unwrap_or(&""),
                f.get("branch").unwrap_or(&""),
                f.get("birth_date").unwrap_or(&"")
            );
        }
        println!(
            "  onshi register{server} --card {} --pin 1234",
            cards.join("unregistered.json").display()
        );
        println!("  onshi audit verify --db {db}\n");
        println!(
            "Pages: a person signs in with a card and opens the printed address:\n             \x20 onshi reader{server} --card {} --face ok --portal-login\n             Staff sign in at {base}/staff/login with a login, password and TOTP secret from {}\n             (the current code: onshi totp SECRET); an insurer's staff find members at {base}/console/members\n             \x20 and see the 特定健診・特定保健指導 of three fiscal years at {base}/console/programme,\n             \x20 the 健康スコアリングレポート at {base}/console/report and a workplace's 事業所カルテ at\n             \x20 {base}/console/workplace?code=1000; the employer's staff (emp1000) see theirs at\n             \x20 {base}/employer/sheet and {base}/employer/report\n\n\
             The operator's public pages (no sign-in): the adoption dashboard from the seed's\n\
             \x20 2020-12-13 table at {base}/adoption (a first card check above moves 運用開始),\n\
             \x20 the weekly public-hospital edition at {base}/weekly, the subsidy calculator at\n\
             \x20 {base}/subsidy; by hand: onshi publish weekly --db {db}\n",
            cards.join("valid.json").display(),
            args.dir.join(STAFF_FILE).display(),
        );
    }
    Ok(())
}

/// The employer whose staff account the demo makes (`emp1000` in demo-staff.txt).
const DEMO_EMPLOYER: &str = "01130012/1000";

/// Registers the largest workplaces of each employee insurer (`synth::workplaces`) with their
/// industries, so that 事業所カルテ and employer reports have figures to show (no API tokens:
/// the demo's employers use the pages).
async fn setup_employers(store: &onshi_store::Store, clock: &dyn Clock) -> Result<(), CliError> {
    let admin = operator(Some("demo".into()));
    let mut registered = 0;
    for w in synth::workplaces(synth::Scale::Demo) {
        let employer = crate::cmd::employer::employer_of(&w, clock.now())?;
        let (_, hash) = onshi_store::token::mint(onshi_store::token::TokenKind::Employer)
            .map_err(|_| CliError::Config("no system randomness".into()))?;
        store.create_employer(&employer, &hash, &admin).await?;
        registered += 1;
    }
    println!("Registered {registered} workplaces with their industries.");
    Ok(())
}

/// One staff account per demo insurer and facility, and an operator's, their passwords and
/// TOTP secrets written to demo-staff.txt (demo only: real ones are shown once).
async fn setup_staff(
    args: &DemoArgs,
    store: &onshi_store::Store,
    key: &onshi_domain::MyNumberKey,
    clock: &dyn Clock,
) -> Result<(), CliError> {
    let mut orgs: Vec<(String, &str, String)> = store
        .insurers()
        .await?
        .into_iter()
        .map(|i| {
            (
                format!("ins{}", i.number.as_str()),
                "insurer",
                i.number.as_str().to_owned(),
            )
        })
        .collect();
    orgs.extend(
        crate::synth_facilities::DEMO_FACILITIES
            .iter()
            .map(|(code, _, _)| (format!("fac{code}"), "facility", (*code).to_owned())),
    );
    orgs.push(("emp1000".into(), "employer", DEMO_EMPLOYER.to_owned()));
    orgs.push(("operator".into(), "operator", String::new()));
    let mut file = String::from(
        "# login  organisation  password  totp_secret   (demo only: real ones are shown once and never written down)\n",
    );
    let admin = operator(Some("demo".into()));
    for (login, kind, id) in orgs {
        let c = crate::cmd::account::credentials(key)?;
        store
            .create_account(
                &admin,
                &login,
                kind,
                &id,
                &c.password_hash,
                &c.sealed,
                clock.now(),
            )
            .await?;
        file.push_str(&format!(
            "{login}  {kind}:{id}  {}  {}\n",
            c.password,
            onshi_domain::staff::base32(&c.secret)
        ));
    }
    let path = args.dir.join(STAFF_FILE);
    std::fs::write(&path, file).map_err(|e| CliError::Io(path.display().to_string(), e))
}

/// A demo card to issue: label, kind, holder's My Number, validity, registered for insurance use.
type CardPlan<'a> = (
    &'a str,
    CertKind,
    &'a str,
    (time::OffsetDateTime, time::OffsetDateTime),
    bool,
);

/// The demo facilities: (code, name).
/// The national facility master as the seed gives it on 2020-12-13 (228,280 facilities,
/// 44,466 card-reader applications, 71,963 portal accounts), the demo's own two among them, so
/// the adoption dashboard starts from the seed's table; then the week's edition of public
/// hospitals.
async fn setup_facilities(
    args: &DemoArgs,
    store: &onshi_store::Store,
    clock: &dyn Clock,
) -> Result<(), CliError> {
    let started = std::time::Instant::now();
    let dir = args.dir.join("facilities");
    let (master, adoption) = crate::cmd::generate::write_facilities(&dir, 1)?;
    let ops = operator(Some("demo".into()));
    let rows = crate::facilities::read_master(&master, Encoding::Utf8)?;
    store
        .import_facilities(&rows, &ops, clock.now(), &mut |_| {})
        .await?;
    let lines = crate::facilities::read_adoption(&adoption, Encoding::Utf8)?;
    let rules = crate::cmd::subsidy::load_rules(args.operator.subsidy_rules.as_deref())?;
    let (_, applied) =
        crate::cmd::facility::record_adoption(store, &adoption, &lines, &rules, &ops, clock.now())
            .await?;
    onshi_server::adoption::publish_weekly(store, clock.now(), &ops).await?;
    println!(
        "Imported the facility master ({} facilities, {applied} card-reader applications as on {}) in {:.1} s.",
        rows.len(),
        crate::synth_facilities::SEED_DATE,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Picks demo people from the member file: four insured persons with a My Number that appears
/// once, and one that appears twice (a change of insurer). Returns (my numbers, mover's old card).
fn pick_people(members_csv: &str) -> (Vec<String>, Option<(String, [String; 5])>) {
    let rows: Vec<Vec<&str>> = members_csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let mut count = std::collections::HashMap::<&str, u32>::new();
    for r in &rows {
        if let Some(mn) = r.get(12).filter(|m| !m.is_empty()) {
            *count.entry(mn).or_default() += 1;
        }
    }
    let candidates: Vec<&Vec<&str>> = rows
        .iter()
        .filter(|r| {
            r.len() >= 14
                && !r[12].is_empty()
                && count[r[12]] == 1
                && r[10].is_empty()
                && r[8] == "1"
        })
        .filter(|r| !r[0].starts_with("39"))
        .collect();
    // The first (the "valid" card) holds a 限度額 certificate when anyone does, so the demo can
    // show it with `--consent limit`.
    let holder = candidates
        .iter()
        .position(|r| r.get(14).is_some_and(|c| !c.is_empty()));
    let mut steady: Vec<String> = Vec::new();
    if let Some(h) = holder {
        steady.push(candidates[h][12].to_owned());
    }
    steady.extend(
        candidates
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != holder)
            .take(4 - steady.len())
            .map(|(_, r)| r[12].to_owned()),
    );
    let mover = rows
        .iter()
        .find(|r| r.len() >= 14 && !r[12].is_empty() && count[r[12]] == 2 && !r[10].is_empty())
        .map(|r| {
            (
                r[12].to_owned(),
                [
                    r[0].to_owned(),
                    r[1].to_owned(),
                    r[2].to_owned(),
                    r[3].to_owned(),
                    r[6].to_owned(),
                ],
            )
        });
    (steady, mover)
}

async fn setup_cards(
    args: &DemoArgs,
    store: &onshi_store::Store,
    key: &onshi_domain::MyNumberKey,
    clock: &dyn Clock,
    tokens_path: &std::path::Path,
    members_path: &std::path::Path,
) -> Result<(), CliError> {
    let now = clock.now();
    let mut tokens = std::fs::read_to_string(tokens_path).unwrap_or_default();
    tokens.push_str("# facility_code  api_token  name\n");
    // The demo's facilities are in the master and applied on the seed's date: the operator
    // approves them now, which issues their tokens.
    let ops = operator(Some("demo".into()));
    for (code, name, _) in crate::synth_facilities::DEMO_FACILITIES {
        let facility = onshi_domain::FacilityCode::parse(code)
            .map_err(|e| CliError::Config(format!("demo facility {code}: {e}")))?;
        let token = approve(store, &facility, &ops, now).await?;
        tokens.push_str(&format!("{code}  {token}  {name}\n"));
    }
    std::fs::write(tokens_path, tokens)
        .map_err(|e| CliError::Io(tokens_path.display().to_string(), e))?;

    let pki = PkiDir(args.dir.join("pki"));
    pki.init(now)?;
    let csv = std::fs::read_to_string(members_path)
        .map_err(|e| CliError::Io(members_path.display().to_string(), e))?;
    let (people, mover) = pick_people(&csv);
    let (Some(a), Some(b), Some(c), Some(d)) =
        (people.first(), people.get(1), people.get(2), people.get(3))
    else {
        return Err(CliError::Config(
            "the demo population is too small for the demo cards (use --members 1000 or more)"
                .into(),
        ));
    };
    let live = (
        now - time::Duration::days(1),
        now + time::Duration::days(5 * 365),
    );
    let dead = (
        now - time::Duration::days(400),
        now - time::Duration::days(1),
    );
    let mut plan: Vec<CardPlan<'_>> = vec![
        ("valid", CertKind::Card, a.as_str(), live, true),
        ("smartphone", CertKind::Smartphone, a.as_str(), live, false),
        ("revoked", CertKind::Card, b.as_str(), live, true),
        ("expired", CertKind::Card, c.as_str(), dead, true),
        ("unregistered", CertKind::Card, d.as_str(), live, false),
    ];
    if let Some((mn, _)) = &mover {
        plan.push(("moved", CertKind::Card, mn.as_str(), live, true));
    }
    let cards_dir = args.dir.join("cards");
    for (label, kind, my_number, valid, registered) in plan {
        let card = pki
            .issue(store, key, kind, my_number, label, valid, now)
            .await?;
        if registered {
            let der = card
                .certificate_der()
                .map_err(|e| CliError::Config(e.to_string()))?;
            let person = key
                .person_ref(&onshi_domain::MyNumber::parse(my_number).map_err(CliError::Config)?);
            store
                .register_for_insurance(
                    &person,
                    onshi_domain::RegistrationChannel::Portal,
                    None,
                    &onshi_pki::fingerprint(&der),
                    now,
                )
                .await?;
        }
        if label == "revoked" {
            pki.revoke(&card, now)?;
        }
        write_card(&cards_dir.join(format!("{label}.json")), &card)?;
    }
    if let Some((_, old)) = mover {
        let text = format!(
            "insurer_number={} symbol={} number={} branch={} birth_date={}\n",
            old[0], old[1], old[2], old[3], old[4]
        );
        std::fs::write(cards_dir.join("moved-old-card.txt"), text)
            .map_err(|e| CliError::Io("moved-old-card.txt".into(), e))?;
    }
    println!(
        "Issued demo cards in {} (PIN 1234) and trust anchors in {}.",
        cards_dir.display(),
        pki.0.display()
    );
    Ok(())
}
