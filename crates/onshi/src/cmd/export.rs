//! `onshi export`: what the registry holds, out as the standard's files.

use std::path::PathBuf;

use clap::Subcommand;

use onshi_domain::{AuditAction, Clock, InsurerNumber};

use crate::CliError;
use crate::config::{StoreArgs, open_store, operator};

/// Checkups read from the store at a time.
const PAGE: u32 = 1000;

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Write an insurer's checkups of a fiscal year as standard archives (特定健診等データ, MHLW
    /// V08, with the schemas in XSD/), the latest version of each: the insurer's own copy, for
    /// another system or another onshi (importing them again changes nothing).
    ///
    /// The archives are named <insurer>_<insurer>_<today><N>_1.zip (interaction type 9, その他),
    /// up to ten a day, each of at most --per-archive documents (raised when ten would not hold
    /// them all). The export is in the audit log, with who ran it.
    ///
    /// Example: onshi export checkups --insurer 01130012 --fiscal-year 2024 --out exported/
    Checkups {
        /// The insurer (8 digits).
        #[arg(long)]
        insurer: String,

        /// The fiscal year (年度, April to March), e.g. 2024.
        #[arg(long)]
        fiscal_year: i32,

        /// The folder to write the archives in (created if missing).
        #[arg(long)]
        out: PathBuf,

        /// Documents per archive at most.
        #[arg(long, default_value_t = 50_000)]
        per_archive: u32,

        /// Who is exporting, for the access log. [default: $USER]
        #[arg(long, env = "ONSHI_OPERATOR")]
        operator: Option<String>,

        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Runs `onshi export`.
pub async fn run(command: ExportCommand, clock: &dyn Clock) -> Result<(), CliError> {
    let ExportCommand::Checkups {
        insurer,
        fiscal_year,
        out,
        per_archive,
        operator: who,
        store,
    } = command;
    let insurer =
        InsurerNumber::parse(&insurer).map_err(|e| CliError::Config(format!("--insurer: {e}")))?;
    let (store, _) = open_store(&store).await?;
    let result = export(&store, &insurer, fiscal_year, &out, per_archive, who, clock).await;
    store.close().await;
    result
}

async fn export(
    store: &onshi_store::Store,
    insurer: &InsurerNumber,
    fiscal_year: i32,
    out: &std::path::Path,
    per_archive: u32,
    who: Option<String>,
    clock: &dyn Clock,
) -> Result<(), CliError> {
    let total = store.checkup_count_of(insurer, fiscal_year).await?;
    let total = u64::try_from(total).unwrap_or(0);
    // At most ten archives a day (N is one digit): larger archives rather than a clash.
    let per_archive = u64::from(per_archive.max(1)).max(total.div_ceil(10));
    let now = clock.now();
    store
        .record_check(
            now,
            &operator(who),
            AuditAction::ReadCheckups,
            None,
            &format!(
                "export of {total} checkup(s) of fiscal year {fiscal_year} of insurer {}",
                insurer.as_str()
            ),
        )
        .await?;
    std::fs::create_dir_all(out).map_err(|e| CliError::Io(out.display().to_string(), e))?;
    let today = onshi_domain::japan::japan_date(now);
    // Files carry 8 digits; the registry keeps a 国保 insurer's 6.
    let eight = format!("{:0>8}", insurer.as_str());
    let io = |p: &std::path::Path| {
        let p = p.display().to_string();
        move |e: std::io::Error| CliError::Io(p.clone(), e)
    };
    let write_err = |e: onshi_checkup::write::WriteError| CliError::Config(e.to_string());
    let mut after = String::new();
    let mut written = 0u64;
    let mut archives = 0u8;
    let mut writer: Option<(onshi_checkup::write::ArchiveWriter<std::fs::File>, PathBuf)> = None;
    loop {
        let page = store
            .checkups_of_insurer(insurer, fiscal_year, &after, PAGE)
            .await?;
        let Some(last) = page.last() else {
            break;
        };
        after = last.id.clone();
        for c in &page {
            if writer
                .as_ref()
                .is_some_and(|(w, _)| u64::from(w.documents()) >= per_archive)
                && let Some((w, path)) = writer.take()
            {
                w.finish().map_err(write_err)?;
                println!("wrote {}", path.display());
            }
            if writer.is_none() {
                let root = format!(
                    "{eight:0>10}_{eight}_{}{}_1",
                    onshi_domain::japan::interface_date(today),
                    archives
                );
                let path = out.join(format!("{root}.zip"));
                let file = std::fs::File::create(&path).map_err(io(&path))?;
                let w = onshi_checkup::write::ArchiveWriter::new(
                    file,
                    (eight.as_str(), onshi_checkup::index::INSURER_OID),
                    eight.as_str(),
                    today,
                    archives,
                    9,
                    true,
                )
                .map_err(write_err)?;
                if Some(w.file_name().as_str()) != path.file_name().and_then(|n| n.to_str()) {
                    return Err(CliError::Config(format!(
                        "internal: the archive is named {}, not {}",
                        w.file_name(),
                        path.display()
                    )));
                }
                archives += 1;
                writer = Some((w, path));
            }
            if let Some((w, _)) = writer.as_mut() {
                w.add(&onshi_server::checkups::document_of(c, today), "")
                    .map_err(write_err)?;
            }
            written += 1;
        }
    }
    if let Some((w, path)) = writer.take() {
        w.finish().map_err(write_err)?;
        println!("wrote {}", path.display());
    }
    println!(
        "exported {written} checkup(s) of fiscal year {fiscal_year} of insurer {eight} in {archives} archive(s)"
    );
    Ok(())
}
