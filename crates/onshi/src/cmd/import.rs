//! `onshi import`: files into the registry (an insurer's member file, all or nothing).

use std::path::PathBuf;

use clap::Subcommand;

use onshi_domain::Clock;

use crate::CliError;
use crate::config::{StoreArgs, open_store, operator};
use crate::import::{self, Encoding};

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import an insurer's member file (CSV with a header row), all or nothing.
    ///
    /// Columns (any order): insurer_number, symbol, number, branch, name, name_kana, birth_date,
    /// sex, relationship, qualified_from, qualified_until, copay_ratio, my_number, and optionally
    /// loss_reason and a 限度額適用認定証 (limit_class 01/02/03, limit_bracket A01–B10,
    /// limit_issued, limit_valid_from, limit_valid_until, limit_long_term_from), what the card
    /// says (card_class 01–07, card_issued, card_valid_from, card_valid_until, insured_name,
    /// address, post_number) and a 高齢受給者証 (elderly_issued, elderly_valid_from,
    /// elderly_valid_until, elderly_copay_ratio). Dates are YYYY-MM-DD or YYYYMMDD;
    /// qualified_until and my_number may be empty.
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
    /// Import a standard checkup archive (特定健診等データ, MHLW format), all or nothing.
    ///
    /// The archive's name must follow the rule <sender>_<insurer>_<YYYYMMDD><N>_<X>.zip. Every
    /// document is read and checked (layout, index, item codes, values, required items,
    /// blood-draw timing); any problem refuses the whole archive, listed as
    /// `file: element or code: reason`. Each checkup is linked to the member whose card key,
    /// birth date and sex match on the exam date, or left for the insurer to match.
    ///
    /// An archive of 実施区分 2 (`…_2.zip`, 特定保健指導) records guidance instead: each hg08
    /// document's 報告区分 is the step (21 first interview, 22 completion, 23 drop-out) on its
    /// date, for the member with its card, in the fiscal year of the member's checkup that
    /// made them a guidance target (see docs/reports.md).
    ///
    /// Several archives, or folders of them, are imported one after another, each all or
    /// nothing; the command fails if any was refused.
    ///
    /// Example: onshi import checkups 5521111111_00280081_202405271_1.zip
    Checkups {
        /// The zip archives, or folders whose `*.zip` files are imported in name order.
        #[arg(required = true, num_args = 1..)]
        files: Vec<PathBuf>,

        /// Who is importing, for the access log. [default: $USER]
        #[arg(long, env = "ONSHI_OPERATOR")]
        operator: Option<String>,

        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Runs `onshi import`.
pub async fn run(command: ImportCommand, clock: &dyn Clock) -> Result<(), CliError> {
    let (file, encoding, who, store) = match command {
        ImportCommand::Members {
            file,
            encoding,
            operator,
            store,
        } => (file, encoding, operator, store),
        ImportCommand::Checkups {
            files,
            operator: who,
            store,
        } => {
            let (store, _) = open_store(&store).await?;
            let result = import_checkups(&store, &files, operator(who), clock).await;
            store.close().await;
            return result.map(|_| ());
        }
    };
    let (store, key) = open_store(&store).await?;
    let job = import::ImportJob {
        path: &file,
        encoding,
        actor: operator(who),
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let report = import::import_members(&store, &key, clock, job).await?;
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

/// The archives `paths` name: files as given, folders as their `*.zip` files in name order.
pub fn archive_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut zips: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| CliError::Io(p.display().to_string(), e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x.eq_ignore_ascii_case("zip")))
                .collect();
            zips.sort();
            out.extend(zips);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// What importing several archives did.
#[derive(Debug, Default)]
pub struct CheckupTotals {
    /// Archives imported.
    pub archives: u64,
    /// Checkup documents in them.
    pub documents: u64,
    /// Linked to members.
    pub linked: u64,
    /// Left to match.
    pub to_match: u64,
    /// Seconds it took.
    pub seconds: f64,
}

/// `onshi import checkups` (and the demo): each archive through the server crate's import
/// workflow (the same one the upload route runs), one after another, each all or nothing;
/// prints each receipt; fails at the end, listing every problem, if any archive was refused.
pub async fn import_checkups(
    store: &onshi_store::Store,
    paths: &[PathBuf],
    actor: onshi_store::Actor,
    clock: &dyn Clock,
) -> Result<CheckupTotals, CliError> {
    use onshi_server::checkups::{ArchiveError, import_archive};
    let started = std::time::Instant::now();
    let mut totals = CheckupTotals::default();
    let mut refused = Vec::new();
    for file in archive_paths(paths)? {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| CliError::Config(format!("{}: not a file name", file.display())))?
            .to_owned();
        let archive =
            std::fs::File::open(&file).map_err(|e| CliError::Io(file.display().to_string(), e))?;
        let r = match import_archive(store, &actor, archive, &name, clock.now()).await {
            Ok(r) => r,
            Err(ArchiveError::Refused(errors)) => {
                eprintln!("refused {name}: {} problem(s)", errors.len());
                refused.extend(errors);
                continue;
            }
            Err(ArchiveError::Store(e)) => return Err(e.into()),
        };
        for w in &r.warnings {
            eprintln!("warning: {w}");
        }
        if r.guidance_events > 0 || name.ends_with("_2.zip") {
            println!(
                "imported {name}: {} guidance documents ({} guidance steps recorded)",
                r.documents, r.guidance_events
            );
            totals.archives += 1;
            continue;
        }
        println!(
            "imported {name}: {} checkups ({} linked, {} to match, {} corrected, {} unchanged)",
            r.documents, r.linked, r.to_match, r.corrected, r.unchanged
        );
        totals.archives += 1;
        totals.documents += r.documents as u64;
        totals.linked += r.linked;
        totals.to_match += r.to_match;
    }
    totals.seconds = started.elapsed().as_secs_f64();
    if !refused.is_empty() {
        return Err(CliError::ArchiveRejected(refused));
    }
    if totals.archives > 1 {
        println!(
            "{} archives, {} checkups ({} linked, {} to match) in {:.1} s ({:.0} checkups/s)",
            totals.archives,
            totals.documents,
            totals.linked,
            totals.to_match,
            totals.seconds,
            totals.documents as f64 / totals.seconds.max(1e-9)
        );
    }
    Ok(totals)
}
