//! The operator's facility files: the master (施設マスタ) and the adoption file (portal accounts
//! and card-reader applications), read whole and checked before anything is stored, every
//! problem named `line N: column: reason`; and writing them (`onshi gen facilities`).
//!
//! Both are CSV in UTF-8 (a BOM is allowed) or CP932 (`--encoding cp932`), with a header line
//! naming the columns in any order; unknown columns are refused, so a misspelt one is noticed.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use onshi_domain::subsidy::{SubsidyKind, SubsidyRules};
use onshi_domain::{FacilityCode, FacilityInput, FacilityRecord, FieldError, parse_date};
use onshi_store::ReaderApplication;
use time::Date;

use crate::CliError;
use crate::import::{Encoding, LineErrors};

/// The master's columns; `chain_group` and `group_prescriptions` may be left out.
pub const MASTER_COLUMNS: [&str; 8] = [
    "code",
    "name",
    "kind",
    "prefecture",
    "public",
    "beds",
    "chain_group",
    "group_prescriptions",
];
const MASTER_OPTIONAL: [&str; 2] = ["chain_group", "group_prescriptions"];

/// The adoption file's columns; only `code` is required.
pub const ADOPTION_COLUMNS: [&str; 6] = [
    "code",
    "portal_account_on",
    "readers",
    "readers_applied_on",
    "delivered_on",
    "installed_on",
];

/// The file's text, decoded.
fn read_text(path: &Path, encoding: Encoding) -> Result<String, CliError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| CliError::Io(file.clone(), e))?;
    let text = match encoding {
        Encoding::Utf8 => String::from_utf8(bytes).map_err(|e| {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = 1 + valid.iter().filter(|b| **b == b'\n').count();
            CliError::Config(format!(
                "{file}: line {line}: not UTF-8 (give --encoding cp932 for a Shift_JIS file)"
            ))
        })?,
        Encoding::Cp932 => {
            let mut out = String::new();
            onshi_interface::cp932::Cp932Reader::new(bytes.as_slice())
                .read_to_string(&mut out)
                .map_err(|e| CliError::Config(format!("{file}: {e}")))?;
            out
        }
    };
    Ok(text
        .strip_prefix('\u{feff}')
        .map(str::to_owned)
        .unwrap_or(text))
}

/// A CSV's header mapped to `columns`: the index of each, `None` when an optional one is
/// absent.
fn header_map(
    header: &csv::StringRecord,
    columns: &[&'static str],
    optional: &[&str],
    problems: &mut LineErrors,
) -> Vec<Option<usize>> {
    let names: Vec<&str> = header.iter().map(str::trim).collect();
    for name in &names {
        if !columns.contains(name) {
            problems.push(
                1,
                FieldError::new(
                    (*name).to_owned(),
                    format!(
                        "is not a column of this file (columns: {})",
                        columns.join(", ")
                    ),
                ),
            );
        }
    }
    columns
        .iter()
        .map(|c| {
            let at = names.iter().position(|n| n == c);
            if at.is_none() && !optional.contains(c) {
                problems.push(1, FieldError::new(*c, "column is missing from the header"));
            }
            at
        })
        .collect()
}

/// Reads a CSV file whole: the header mapped to `columns` (`optional` may be missing), each
/// line made into a row by `row` (given its line and the cell of each column, trimmed), every problem
/// collected as `line N: column: reason`, and a facility code given twice refused (`code_of`).
/// All of it or nothing.
fn read_rows<T>(
    path: &Path,
    encoding: Encoding,
    columns: &[&'static str],
    optional: &[&str],
    row: impl for<'a> Fn(u64, &'a dyn Fn(usize) -> &'a str) -> Result<T, FieldError>,
    code_of: impl Fn(&T) -> &str,
) -> Result<Vec<T>, CliError> {
    let text = read_text(path, encoding)?;
    let file = path.display().to_string();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut problems = LineErrors::default();
    let header = reader
        .headers()
        .map_err(|e| CliError::Config(format!("{file}: line 1: {e}")))?
        .clone();
    let map = header_map(&header, columns, optional, &mut problems);
    if problems.total > 0 {
        return problems.into_result(Vec::new());
    }
    let mut out = Vec::new();
    let mut first_line: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| CliError::Config(format!("{file}: {e}")))?;
        let line = record.position().map_or(0, |p| p.line());
        let get = |c: usize| map[c].and_then(|i| record.get(i)).unwrap_or("").trim();
        match row(line, &get) {
            Ok(r) => {
                if let Some(first) = first_line.insert(code_of(&r).to_owned(), line) {
                    problems.push(
                        line,
                        FieldError::new("code", format!("is given twice (first on line {first})")),
                    );
                }
                out.push(r);
            }
            Err(e) => problems.push(line, e),
        }
    }
    problems.into_result(out)
}

/// Reads a facility master; all of it or nothing.
pub fn read_master(path: &Path, encoding: Encoding) -> Result<Vec<FacilityRecord>, CliError> {
    read_rows(
        path,
        encoding,
        &MASTER_COLUMNS,
        &MASTER_OPTIONAL,
        |_, get| {
            FacilityInput {
                code: get(0),
                name: get(1),
                kind: get(2),
                prefecture: get(3),
                public: get(4),
                beds: get(5),
                chain_group: get(6),
                group_prescriptions: get(7),
            }
            .validate()
        },
        |r| r.code.as_str(),
    )
}

/// What one line of the adoption file records.
#[derive(Debug, Clone)]
pub struct AdoptionLine {
    /// Its line in the file.
    pub line: u64,
    /// The facility.
    pub code: FacilityCode,
    /// Its portal account's day, if given.
    pub portal_account_on: Option<Date>,
    /// Its reader application, if given.
    pub readers: Option<(u8, Date, Option<Date>, Option<Date>)>,
}

/// Reads an adoption file; all of it or nothing.
pub fn read_adoption(path: &Path, encoding: Encoding) -> Result<Vec<AdoptionLine>, CliError> {
    read_rows(
        path,
        encoding,
        &ADOPTION_COLUMNS,
        &ADOPTION_COLUMNS[1..],
        |line, get| {
            let code = FacilityCode::parse(get(0)).map_err(|r| FieldError::new("code", r))?;
            let date = |c: usize| -> Result<Option<Date>, FieldError> {
                match get(c) {
                    "" => Ok(None),
                    s => parse_date(s)
                        .map(Some)
                        .map_err(|r| FieldError::new(ADOPTION_COLUMNS[c], r)),
                }
            };
            let portal_account_on = date(1)?;
            let readers = match (get(2), date(3)?) {
                ("", None) => {
                    if !get(4).is_empty() || !get(5).is_empty() {
                        return Err(FieldError::new(
                            "readers",
                            "is required with delivered_on or installed_on",
                        ));
                    }
                    None
                }
                ("", Some(_)) => {
                    return Err(FieldError::new(
                        "readers",
                        "is required with readers_applied_on",
                    ));
                }
                (_, None) => {
                    return Err(FieldError::new(
                        "readers_applied_on",
                        "is required with readers",
                    ));
                }
                (n, Some(applied)) => {
                    let n = n
                        .parse::<u8>()
                        .ok()
                        .filter(|n| (1..=20).contains(n))
                        .ok_or_else(|| FieldError::new("readers", "must be 1 to 20"))?;
                    Some((n, applied, date(4)?, date(5)?))
                }
            };
            if let (Some(p), Some((_, applied, _, _))) = (portal_account_on, readers)
                && applied < p
            {
                return Err(FieldError::new(
                    "readers_applied_on",
                    "is before portal_account_on: a facility applies through its portal account",
                ));
            }
            Ok(AdoptionLine {
                line,
                code,
                portal_account_on,
                readers,
            })
        },
        |a| a.code.as_str(),
    )
}

/// A reader application of a facility of `kind` (and large chain or not), its free readers
/// decided by the subsidy rules in force on the day it was applied for.
pub fn application(
    rules: &SubsidyRules,
    kind: SubsidyKind,
    readers: u8,
    applied_on: Date,
    delivered_on: Option<Date>,
    installed_on: Option<Date>,
) -> Result<ReaderApplication, String> {
    let estimate = rules.estimate(&onshi_domain::subsidy::SubsidyApplication {
        kind,
        readers,
        readers_applied_on: applied_on,
        completed_on: None,
        subsidy_applied_on: None,
        operation_started_on: None,
        costs: Vec::new(),
    })?;
    let app = ReaderApplication {
        readers,
        free_readers: estimate.free_readers,
        applied_on,
        delivered_on,
        installed_on,
    };
    app.check()
        .map_err(|(field, reason)| format!("{field}: {reason}"))?;
    Ok(app)
}

/// Writes rows as CSV with `header`.
pub fn write_csv<const N: usize>(
    path: &Path,
    header: &[&str; N],
    rows: impl Iterator<Item = [String; N]>,
) -> Result<u64, CliError> {
    let file = path.display().to_string();
    let mut w =
        csv::Writer::from_path(path).map_err(|e| CliError::Config(format!("{file}: {e}")))?;
    let io = |e: csv::Error| CliError::Config(format!("{file}: {e}"));
    w.write_record(header).map_err(io)?;
    let mut n = 0;
    for row in rows {
        w.write_record(&row).map_err(io)?;
        n += 1;
    }
    w.flush().map_err(|e| CliError::Io(file, e))?;
    Ok(n)
}
