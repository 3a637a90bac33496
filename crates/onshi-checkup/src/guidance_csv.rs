//! An insurer's record of specific health guidance (特定保健指導) as a CSV, for guidance done by
//! contractors whose systems write no `hg08` archive: one event per row,
//!
//! ```text
//! fiscal_year,symbol,number,branch,event,date
//! 2024,1234,5678,01,first_interview,2024-08-01
//! 2024,1234,5678,01,終了,2025-02-01
//! ```
//!
//! `event` is `first_interview`, `completed` or `dropped_out`, or in Japanese 初回面接, 終了,
//! 脱落; `date` is `YYYY-MM-DD` or `YYYYMMDD`. The header is required (columns in any order);
//! UTF-8 with or without a byte-order mark, or CP932 ([`crate::employer_csv::decode`]). Pure:
//! the caller records the rows.

use time::Date;

/// The columns, as the header names them.
pub const COLUMNS: [&str; 6] = ["fiscal_year", "symbol", "number", "branch", "event", "date"];

/// One row, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuidanceRow {
    /// The line it was on (the header is line 1).
    pub line: u64,
    /// 年度 of the checkup that made the member a target.
    pub fiscal_year: i32,
    /// 記号.
    pub symbol: String,
    /// 番号.
    pub number: String,
    /// 枝番.
    pub branch: String,
    /// `first_interview`, `completed` or `dropped_out`.
    pub event: &'static str,
    /// When.
    pub date: Date,
}

/// The wire name of an event as a row may write it.
fn event(text: &str) -> Option<&'static str> {
    match text.trim() {
        "first_interview" | "初回面接" => Some("first_interview"),
        "completed" | "終了" => Some("completed"),
        "dropped_out" | "脱落" => Some("dropped_out"),
        _ => None,
    }
}

/// The data lines of a CSV with a header naming at least `columns` (in any order), each with
/// its line number (the header is line 1) and its fields in `columns`' order; blank lines are
/// skipped. Errors are `line N[, column]: reason`. Shared by the insurers' small CSV files.
pub(crate) fn lines_of(
    text: &str,
    columns: &[&str],
) -> Result<Vec<(u64, Vec<String>)>, Vec<String>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Line by line, so that line numbers are the file's own (the csv reader does not count the
    // blank lines it skips); each line's fields read as CSV (quotes allowed).
    let fields = |line: &str| -> Result<Vec<String>, String> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(line.as_bytes());
        match reader.records().next() {
            Some(Ok(r)) => Ok(r.iter().map(|c| c.trim().to_owned()).collect()),
            Some(Err(e)) => Err(e.to_string()),
            None => Ok(Vec::new()),
        }
    };
    let mut lines = text.lines().enumerate();
    let header = match lines.next().map(|(_, l)| fields(l)) {
        Some(Ok(h)) => h,
        Some(Err(e)) => return Err(vec![format!("line 1: {e}")]),
        None => return Err(vec!["line 1: the file is empty (it needs a header)".into()]),
    };
    let mut at = Vec::with_capacity(columns.len());
    let mut errors = Vec::new();
    for name in columns {
        match header.iter().position(|h| h == name) {
            Some(p) => at.push(p),
            None => errors.push(format!(
                "line 1, {name}: the header has no such column (it needs {})",
                columns.join(",")
            )),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut out = Vec::new();
    for (n, text) in lines {
        let line = n as u64 + 1;
        if text.trim().is_empty() {
            continue;
        }
        match fields(text) {
            Ok(record) => out.push((
                line,
                at.iter()
                    .map(|i| record.get(*i).cloned().unwrap_or_default())
                    .collect(),
            )),
            Err(e) => errors.push(format!("line {line}: {e}")),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Reads `text`: every row, or every problem as `line N, column: reason` (all of them, so a
/// file is mended in one pass).
pub fn parse(text: &str) -> Result<Vec<GuidanceRow>, Vec<String>> {
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    for (line, record) in lines_of(text, &COLUMNS)? {
        let get = |i: usize| record.get(i).cloned().unwrap_or_default();
        let mut bad = |column: &str, reason: String| {
            errors.push(format!("line {line}, {column}: {reason}"));
        };
        let year = get(0)
            .parse::<i32>()
            .ok()
            .filter(|y| (2008..=2100).contains(y));
        if year.is_none() {
            bad("fiscal_year", "must be a year from 2008 to 2100".into());
        }
        let ev = event(&get(4));
        if ev.is_none() {
            bad(
                "event",
                "must be first_interview, completed or dropped_out (初回面接, 終了, 脱落)".into(),
            );
        }
        let date_text = get(5);
        let date = onshi_domain::parse_date(&date_text).or_else(|_| {
            if date_text.len() == 8 && date_text.bytes().all(|b| b.is_ascii_digit()) {
                onshi_domain::parse_date(&format!(
                    "{}-{}-{}",
                    &date_text[..4],
                    &date_text[4..6],
                    &date_text[6..]
                ))
            } else {
                Err("must be a date YYYY-MM-DD".into())
            }
        });
        if let Err(reason) = &date {
            bad("date", reason.clone());
        }
        for (i, column) in [(1, "symbol"), (2, "number")] {
            if get(i).is_empty() {
                bad(column, "is required".into());
            }
        }
        if let (Some(fiscal_year), Some(event), Ok(date)) = (year, ev, date) {
            rows.push(GuidanceRow {
                line,
                fiscal_year,
                symbol: get(1),
                number: get(2),
                branch: get(3),
                event,
                date,
            });
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_in_english_and_japanese_and_every_problem_by_line() {
        let rows = parse(
            "\u{feff}date,fiscal_year,symbol,number,branch,event\n2024-08-01,2024,1234,5678,01,first_interview\n\n20250201,2024,1234,5678,01,終了\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].line, rows[0].event), (2, "first_interview"));
        assert_eq!((rows[1].line, rows[1].event), (4, "completed"));
        assert_eq!(rows[1].date, time::macros::date!(2025 - 02 - 01));
        let errors = parse(
            "fiscal_year,symbol,number,branch,event,date\n1999,1,2,00,finished,2024-13-01\n2024,,2,00,脱落,2024-10-01\n",
        )
        .unwrap_err();
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].starts_with("line 2, fiscal_year: "), "{errors:?}");
        assert!(errors[1].starts_with("line 2, event: "), "{errors:?}");
        assert!(errors[2].starts_with("line 2, date: "), "{errors:?}");
        assert_eq!(errors[3], "line 3, symbol: is required");
        let errors = parse("fiscal_year,symbol,number\n").unwrap_err();
        assert!(errors[0].starts_with("line 1, branch: "), "{errors:?}");
    }
}
