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
    ///
    /// Or every employer of a CSV file (as `onshi gen employers` writes), each line checked
    /// before any is registered; employers already registered are left as they are:
    /// onshi employer add --from employers.csv > employer-tokens.tsv
    Add {
        /// The insurer's number (保険者番号).
        #[arg(long, required_unless_present = "from")]
        insurer: Option<String>,
        /// 事業所コード at the insurer: 1–16 letters, digits or hyphens (what the member file's
        /// `employer` column holds).
        #[arg(long, required_unless_present = "from")]
        code: Option<String>,
        /// 事業所名.
        #[arg(long, required_unless_present = "from")]
        name: Option<String>,
        /// 業態: the JSIC major group letter, A–T (E 製造業, G 情報通信業, P 医療、福祉, …).
        #[arg(long, required_unless_present = "from")]
        industry: Option<String>,
        /// 都道府県 code, 01–47.
        #[arg(long, required_unless_present = "from")]
        prefecture: Option<String>,
        /// Register every employer of a CSV file with the header
        /// insurer,code,name,industry,prefecture.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["insurer", "code", "name", "industry", "prefecture"])]
        from: Option<std::path::PathBuf>,
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
            from,
            operator: who,
            store,
        } => {
            let at = clock.now();
            let employers = match from {
                Some(path) => read_employers_csv(&path, at)?,
                None => {
                    let given = |v: Option<String>, flag: &str| {
                        v.ok_or_else(|| CliError::Config(format!("{flag}: is required")))
                    };
                    let fields = [
                        given(insurer, "--insurer")?,
                        given(code, "--code")?,
                        given(name, "--name")?,
                        given(industry, "--industry")?,
                        given(prefecture, "--prefecture")?,
                    ];
                    vec![
                        employer_from(&fields, at)
                            .map_err(|(column, e)| CliError::Config(format!("--{column}: {e}")))?,
                    ]
                }
            };
            let (store, _) = open_store(&store).await?;
            let actor = operator(who);
            let (mut added, mut kept) = (0u64, 0u64);
            let many = employers.len() > 1;
            for employer in &employers {
                if many && store.employer(&employer.id).await?.is_some() {
                    kept += 1;
                    continue;
                }
                let (token, hash) = token::mint(TokenKind::Employer)
                    .map_err(|_| CliError::Config("no system randomness".into()))?;
                store.create_employer(employer, &hash, &actor).await?;
                println!("{}\t{token}\t{}", employer.id, employer.name);
                added += 1;
                if many && added % 1_000 == 0 {
                    eprint!("\r{added} of {} registered", employers.len());
                }
            }
            if many {
                eprintln!("\r{added} registered, {kept} already registered");
            }
            eprintln!("Keep the tokens now: only their hashes are stored.");
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

/// The columns of an employer file, in order.
const EMPLOYER_COLUMNS: [&str; 5] = ["insurer", "code", "name", "industry", "prefecture"];

/// An employer from its five fields (in [`EMPLOYER_COLUMNS`] order), or the column that is
/// wrong and why.
fn employer_from(
    fields: &[String; 5],
    at: time::OffsetDateTime,
) -> Result<onshi_store::Employer, (&'static str, String)> {
    let [insurer, code, name, industry, prefecture] = fields;
    let name = name.trim();
    if name.is_empty() {
        return Err(("name", "is required".into()));
    }
    Ok(onshi_store::Employer {
        id: EmployerRef {
            insurer: InsurerNumber::parse(insurer).map_err(|e| ("insurer", e))?,
            code: EmployerCode::parse(code).map_err(|e| ("code", e))?,
        },
        name: name.to_owned(),
        industry: Industry::parse(industry).map_err(|e| ("industry", e))?,
        prefecture: Prefecture::parse(prefecture).map_err(|e| ("prefecture", e))?,
        created_at: at,
    })
}

/// The employer of a synthetic workplace (the demo's and `gen employers`' rows).
pub fn employer_of(
    w: &crate::synth::SynthWorkplace,
    at: time::OffsetDateTime,
) -> Result<onshi_store::Employer, CliError> {
    let fields = [
        w.insurer.to_string(),
        w.code.clone(),
        w.name.clone(),
        w.industry.to_string(),
        w.prefecture.to_string(),
    ];
    employer_from(&fields, at).map_err(|(column, e)| CliError::Config(format!("{column}: {e}")))
}

/// Every employer of the CSV file at `path` (header `insurer,code,name,industry,prefecture`),
/// all checked before any is returned: a bad line refuses the file, naming the line and column.
fn read_employers_csv(
    path: &std::path::Path,
    at: time::OffsetDateTime,
) -> Result<Vec<onshi_store::Employer>, CliError> {
    let file = path.display();
    let mut reader =
        csv::Reader::from_path(path).map_err(|e| CliError::Config(format!("{file}: {e}")))?;
    let header = reader
        .headers()
        .map_err(|e| CliError::Config(format!("{file}: line 1: {e}")))?
        .clone();
    if header.iter().map(str::trim).ne(EMPLOYER_COLUMNS) {
        return Err(CliError::Config(format!(
            "{file}: line 1: the header must be {}",
            EMPLOYER_COLUMNS.join(",")
        )));
    }
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| CliError::Config(format!("{file}: line {line}: {e}")))?;
        let fields: [String; 5] = std::array::from_fn(|c| record.get(c).unwrap_or("").to_owned());
        let employer = employer_from(&fields, at).map_err(|(column, e)| {
            CliError::Config(format!("{file}: line {line}: {column}: {e}"))
        })?;
        if !seen.insert(employer.id.clone()) {
            return Err(CliError::Config(format!(
                "{file}: line {line}: code: {} is given twice",
                employer.id
            )));
        }
        out.push(employer);
    }
    Ok(out)
}
