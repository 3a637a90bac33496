//! `onshi import members FILE`: an insurer's member file into the registry, all or nothing.
//!
//! One thread reads, decodes (UTF-8 or CP932/Shift_JIS), parses and validates rows and hashes My
//! Numbers, handing batches to the store, which stages them in one transaction. Every bad row is
//! reported as `line N: field: reason`; if there is any, the transaction is dropped and the store
//! is unchanged. Memory stays flat whatever the file's size.

use std::collections::{BTreeSet, HashSet};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::mpsc;

use onshi_domain::import::{ColumnMap, LineError};
use onshi_domain::{Clock, FieldError, MyNumberKey};
use onshi_interface::cp932::{Cp932Reader, NotCp932};
use onshi_store::{Actor, ImportOutcome, StagedRow, Store};

use crate::CliError;

/// The character encoding of a member file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Encoding {
    /// UTF-8 (a byte-order mark is allowed).
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
    /// Windows-31J / CP932, the Shift_JIS that Japanese office software writes.
    #[value(name = "cp932", alias = "shift_jis", alias = "sjis")]
    Cp932,
}

/// The most errors listed for one file (all are counted).
pub const MAX_LISTED_ERRORS: usize = 200;
const BATCH: usize = 5000;

/// A finished import and how long it took.
#[derive(Debug, Clone, Copy)]
pub struct ImportReport {
    /// What the store did.
    pub outcome: ImportOutcome,
    /// Wall-clock seconds, reading to commit.
    pub seconds: f64,
}

impl ImportReport {
    /// Rows per second over the whole import.
    pub fn rows_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.outcome.rows as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// Counts the bytes read through it (for the progress bar).
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Problems found in a data file: every one counted, the first [`MAX_LISTED_ERRORS`] kept to
/// be shown as `line N: field: reason`.
#[derive(Debug, Default)]
pub struct LineErrors {
    /// The problems kept.
    pub listed: Vec<LineError>,
    /// How many there were in all.
    pub total: u64,
}

impl LineErrors {
    /// Counts a problem, keeping it while fewer than [`MAX_LISTED_ERRORS`] are kept.
    pub fn push(&mut self, line: u64, error: FieldError) {
        self.total += 1;
        if self.listed.len() < MAX_LISTED_ERRORS {
            self.listed.push(LineError { line, error });
        }
    }

    /// `ok` when there was no problem, else the file refused with them.
    pub fn into_result<T>(self, ok: T) -> Result<T, CliError> {
        if self.total == 0 {
            Ok(ok)
        } else {
            Err(CliError::Rejected {
                errors: self.listed,
                total: self.total,
            })
        }
    }
}

/// What the reading thread found.
struct Parsed {
    rows: u64,
    problems: LineErrors,
    /// The registered insurers its rows name (the import is logged for each).
    insurers: BTreeSet<String>,
}

fn read_rows(
    source: Box<dyn Read + Send>,
    key: &MyNumberKey,
    insurers: &HashSet<String>,
    tx: &mpsc::Sender<Vec<StagedRow>>,
) -> Result<Parsed, CliError> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(source);
    let mut parsed = Parsed {
        rows: 0,
        problems: LineErrors::default(),
        insurers: BTreeSet::new(),
    };
    let mut record = csv::ByteRecord::new();
    let mut header: Option<ColumnMap> = None;
    let mut header_names: Vec<String> = Vec::new();
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let line_before = csv.position().line();
        match csv.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let mut line = e.position().map_or(line_before, csv::Position::line);
                let reason = match e.kind() {
                    csv::ErrorKind::Io(io) => {
                        // The decoder runs ahead of the parser: its own line is the bad byte's.
                        if let Some(bad) = io.get_ref().and_then(|i| i.downcast_ref::<NotCp932>()) {
                            line = bad.line;
                        }
                        io.to_string()
                    }
                    _ => e.to_string(),
                };
                parsed.problems.push(line, FieldError::new("file", reason));
                break;
            }
        }
        let line = record.position().map_or(line_before, csv::Position::line);
        let mut fields: Vec<&str> = Vec::with_capacity(16);
        for (i, raw) in record.iter().enumerate() {
            match std::str::from_utf8(raw) {
                Ok(s) => fields.push(s),
                Err(_) => {
                    // A wrong encoding is a problem of the whole file: say it once and stop.
                    let column = header_names
                        .get(i)
                        .cloned()
                        .unwrap_or_else(|| format!("column {}", i + 1));
                    parsed.problems.push(
                        line,
                        FieldError::new(
                            column,
                            "not valid UTF-8 (if the file is Shift_JIS, pass --encoding cp932)",
                        ),
                    );
                    return Ok(parsed);
                }
            }
        }
        let Some(map) = &header else {
            match ColumnMap::from_header(fields.iter().copied()) {
                Ok(m) => {
                    header = Some(m);
                    header_names = fields
                        .iter()
                        .map(|f| f.trim().to_ascii_lowercase())
                        .collect();
                }
                Err(errors) => {
                    for e in errors {
                        parsed.problems.push(line, e);
                    }
                    return Ok(parsed);
                }
            }
            continue;
        };
        if fields.len() == 1 && fields[0].trim().is_empty() {
            continue; // a blank line
        }
        parsed.rows += 1;
        if fields.len() != map.width() {
            parsed.problems.push(
                line,
                FieldError::new(
                    "row",
                    format!(
                        "has {} fields, the header has {}",
                        fields.len(),
                        map.width()
                    ),
                ),
            );
            continue;
        }
        let input = map.input(|i| fields.get(i).copied());
        let mut valid = match input.validate() {
            Ok(v) => v,
            Err(errors) => {
                for e in errors {
                    parsed.problems.push(line, e);
                }
                continue;
            }
        };
        if !insurers.contains(valid.key.insurer.as_str()) {
            parsed.problems.push(
                line,
                FieldError::new(
                    "insurer_number",
                    format!(
                        "insurer {} is not registered (onshi insurer add)",
                        valid.key.insurer
                    ),
                ),
            );
            continue;
        }
        if !parsed.insurers.contains(valid.key.insurer.as_str()) {
            parsed
                .insurers
                .insert(valid.key.insurer.as_str().to_owned());
        }
        valid.details.person = valid.my_number.take().map(|n| key.person_ref(&n));
        if parsed.problems.total == 0 {
            batch.push(StagedRow::new(line, valid.key, valid.details));
            if batch.len() == BATCH && tx.blocking_send(std::mem::take(&mut batch)).is_err() {
                // The store side stopped (its own error is reported there).
                return Ok(parsed);
            }
        }
    }
    // A file that failed to decode before its header was read is not empty: its error says why.
    if header.is_none() && parsed.problems.total == 0 {
        parsed.problems.push(
            1,
            FieldError::new("file", "is empty: expected a header row"),
        );
    }
    if parsed.problems.total == 0 && !batch.is_empty() {
        let _ = tx.blocking_send(batch);
    }
    Ok(parsed)
}

/// What to import and how.
pub struct ImportJob<'a> {
    /// The file.
    pub path: &'a Path,
    /// Its encoding.
    pub encoding: Encoding,
    /// Who is importing (for the access log).
    pub actor: Actor,
    /// Show a progress bar (on a terminal).
    pub progress: bool,
}

/// Imports a member file. On any bad row nothing is written and every error is returned.
pub async fn import_members(
    store: &Store,
    key: &MyNumberKey,
    clock: &dyn Clock,
    job: ImportJob<'_>,
) -> Result<ImportReport, CliError> {
    let started = Instant::now();
    let path: PathBuf = job.path.to_path_buf();
    let file = File::open(&path).map_err(|e| CliError::Io(path.display().to_string(), e))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let count = Arc::new(AtomicU64::new(0));
    let counting = Counting {
        inner: BufReader::with_capacity(256 * 1024, file),
        count: Arc::clone(&count),
    };
    let source: Box<dyn Read + Send> = match job.encoding {
        Encoding::Utf8 => Box::new(counting),
        Encoding::Cp932 => Box::new(Cp932Reader::new(counting)),
    };
    let insurers: HashSet<String> = store
        .insurers()
        .await?
        .into_iter()
        .map(|i| i.number.as_str().to_owned())
        .collect();

    let bar = if job.progress {
        ProgressBar::new(size)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message("reading");

    let (tx, mut rx) = mpsc::channel::<Vec<StagedRow>>(4);
    let key_for_reader = key.clone();
    let reader =
        tokio::task::spawn_blocking(move || read_rows(source, &key_for_reader, &insurers, &tx));

    let mut session = store.begin_import().await?;
    let mut stage_error = None;
    while let Some(batch) = rx.recv().await {
        if let Err(e) = session.stage(&batch).await {
            stage_error = Some(e);
            break;
        }
        bar.set_position(count.load(Ordering::Relaxed));
    }
    drop(rx);
    let mut parsed = reader
        .await
        .map_err(|e| CliError::Config(format!("reader thread failed: {e}")))??;
    if let Some(e) = stage_error {
        bar.abandon();
        return Err(e.into());
    }
    let insurers = std::mem::take(&mut parsed.insurers);
    if parsed.problems.total == 0 {
        bar.set_position(size);
    }
    let at = clock.now();
    let result = finish(session, parsed, &job.actor, at, &bar).await;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    log_import(store, &job.actor, &insurers, &name, at, &result).await?;
    Ok(ImportReport {
        outcome: result?,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Checks the staged rows and applies them, or says why the file is refused.
async fn finish(
    mut session: onshi_store::ImportSession,
    parsed: Parsed,
    actor: &Actor,
    at: time::OffsetDateTime,
    bar: &ProgressBar,
) -> Result<ImportOutcome, CliError> {
    if parsed.problems.total > 0 {
        bar.abandon_with_message("refused");
        return Err(CliError::Rejected {
            errors: parsed.problems.listed,
            total: parsed.problems.total,
        });
    }
    bar.set_message("checking");
    let duplicates = session.duplicates().await?;
    if !duplicates.is_empty() {
        bar.abandon_with_message("refused");
        let total = duplicates.len() as u64;
        let errors = duplicates
            .into_iter()
            .take(MAX_LISTED_ERRORS)
            .map(|(line, first)| LineError {
                line,
                error: FieldError::new(
                    "number",
                    format!("the same insurer_number, symbol, number and branch as line {first}"),
                ),
            })
            .collect();
        return Err(CliError::Rejected { errors, total });
    }
    bar.set_message(if session.is_initial_load() {
        "loading (initial load: checks are answered busy until it commits)"
    } else {
        "applying"
    });
    let outcome = session.apply(actor, at).await?;
    bar.finish_and_clear();
    Ok(outcome)
}

/// Logs a member file's import, taken or refused, for each insurer its rows name, so that the
/// insurer's console lists it (the counts are the whole file's). A file refused before any row
/// named a registered insurer, and a failure of the store, are not logged: the command's own
/// error says what happened.
async fn log_import(
    store: &Store,
    actor: &Actor,
    insurers: &BTreeSet<String>,
    name: &str,
    at: time::OffsetDateTime,
    result: &Result<ImportOutcome, CliError>,
) -> Result<(), CliError> {
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let mut record = onshi_store::ImportRecord::new(onshi_store::ImportKind::Members, at, name);
    match result {
        Ok(outcome) => {
            record.imported = true;
            record.documents = count(outcome.rows);
            record.created = count(outcome.created);
            record.changed = count(outcome.changed);
            record.unchanged = count(outcome.unchanged);
        }
        Err(CliError::Rejected { errors, total }) => {
            record.problems = count(*total);
            record.first_problems = errors
                .iter()
                .take(5)
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n");
        }
        Err(_) => return Ok(()),
    }
    for insurer in insurers {
        record.insurer_number = Some(insurer.clone());
        store.log_import(actor, &record).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::SHIFT_JIS;

    #[test]
    fn cp932_decodes_across_buffer_boundaries() {
        let text = "山田　太郎,ﾔﾏﾀﾞ\n".repeat(10_000);
        let (bytes, _, _) = SHIFT_JIS.encode(&text);
        let mut out = String::new();
        Cp932Reader::new(io::Cursor::new(bytes.into_owned()))
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out.len(), text.len());
        assert!(out == text, "decoded text differs");
    }

    /// A bad byte far into a file is reported at its own line, not at the line the CSV parser
    /// had reached when the decoder (which reads ahead) found it; and a file whose first line
    /// does not decode is not also "empty".
    #[test]
    fn cp932_errors_name_the_bad_bytes_line() {
        let key = MyNumberKey::from_bytes(&[7; 32]).unwrap();
        let insurers: HashSet<String> = ["01130012".to_owned()].into();
        let header = "insurer_number,symbol,number,branch,name,name_kana,birth_date,sex,relationship,qualified_from,qualified_until,copay_ratio,my_number\n";
        let row = |i: usize| {
            format!("01130012,１２,{i},00,山田　太郎,ﾔﾏﾀﾞ ﾀﾛｳ,1980-04-01,1,本人,20200401,,30,\n")
        };
        let run = |bytes: Vec<u8>| {
            let (tx, mut rx) = mpsc::channel(1024);
            let drain = std::thread::spawn(move || while rx.blocking_recv().is_some() {});
            let parsed = read_rows(
                Box::new(Cp932Reader::new(io::Cursor::new(bytes))),
                &key,
                &insurers,
                &tx,
            )
            .unwrap();
            drop(tx);
            drain.join().unwrap();
            parsed
        };
        // 3,000 rows; line 2,502 (after the header and 2,500 rows) starts with a lead byte
        // that has no valid trail.
        let mut bytes = SHIFT_JIS.encode(header).0.into_owned();
        for i in 0..3000 {
            if i == 2500 {
                bytes.extend_from_slice(&[0x81, 0x20]);
            }
            bytes.extend_from_slice(&SHIFT_JIS.encode(&row(i)).0);
        }
        let parsed = run(bytes);
        assert_eq!(
            parsed.problems.listed.len(),
            1,
            "{:?}",
            parsed.problems.listed
        );
        assert_eq!(
            parsed.problems.listed[0].line, 2502,
            "{}",
            parsed.problems.listed[0]
        );
        assert!(
            parsed.problems.listed[0]
                .to_string()
                .contains("not valid CP932")
        );

        let parsed = run(vec![0x81, 0x20, b'a', b'\n']);
        assert_eq!(
            parsed.problems.listed.len(),
            1,
            "{:?}",
            parsed.problems.listed
        );
        assert_eq!(parsed.problems.listed[0].line, 1);
        assert!(!parsed.problems.listed[0].to_string().contains("empty"));
    }

    #[test]
    fn cp932_refuses_bad_bytes() {
        let mut out = String::new();
        let err = Cp932Reader::new(io::Cursor::new(b"abc\x81\x20def".to_vec()))
            .read_to_string(&mut out)
            .unwrap_err();
        assert!(err.to_string().contains("not valid CP932"), "{err}");
    }
}
