//! `onshi demo`: a registry with synthetic data in one folder, made once, then served.

use std::path::PathBuf;

use clap::Args;

use onshi_domain::Clock;

use crate::config::StoreArgs;
use crate::import::{Encoding, ImportJob, import_members};
use crate::{CliError, open_store, operator, synth};

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
}

const TOKENS_FILE: &str = "demo-tokens.txt";
const MEMBERS_FILE: &str = "demo-members.csv";
const MEMBERS_SJIS_FILE: &str = "demo-members-sjis.csv";

pub(crate) async fn run(args: DemoArgs, clock: &dyn Clock) -> Result<(), CliError> {
    let db = format!("sqlite:{}", args.dir.join("onshi.db").display());
    let store_args = StoreArgs {
        db: Some(db.clone()),
        my_number_key_file: None,
        config: None,
    };
    let (store, key) = open_store(&store_args).await?;
    let tokens_path = args.dir.join(TOKENS_FILE);
    let members_path = args.dir.join(MEMBERS_FILE);

    if store.insurers().await?.is_empty() {
        println!("Setting up the demo in {} (once) …", args.dir.display());
        let mut tokens = String::from(
            "# insurer_number  api_token  name   (demo only: real tokens are shown once and never written down)\n",
        );
        for (number, name) in synth::insurers() {
            let token = crate::add_insurer(&store, number.as_str(), name, clock.now()).await?;
            tokens.push_str(&format!("{number}  {token}  {name}\n"));
        }
        std::fs::write(&tokens_path, tokens)
            .map_err(|e| CliError::Io(tokens_path.display().to_string(), e))?;
        let today = clock.now().date();
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
    }
    print_guide(&args, &db, &store).await?;
    if args.no_serve {
        store.close().await;
        return Ok(());
    }
    crate::serve(store, key, &args.listen).await
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
    Ok(())
}
