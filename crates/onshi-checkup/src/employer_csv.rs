//! An employer's checkup results (事業主健診) as a CSV file, for employers whose systems write no
//! standard archive: one row per person, the person and exam in fixed columns, then one column
//! per item, named by its 17-digit item code or by one of the short names of [`ALIASES`]. Each
//! row becomes the same [`Document`] a standard archive gives (報告区分 10, プログラム種別 030
//! 事業者健診) and is held to the same validation, so an employer's CSV and an institution's
//! archive are stored alike. Errors name the line and the column; none shows a value.
//!
//! The header and the short names are documented for employers in `docs/checkups.md`.

use std::collections::HashSet;

use crate::codes::{CodeTable, ValueType};
use crate::document::{Document, Observation, Value};
use crate::import::FileError;
use crate::validate::{SPECIFIC_CHECKUP, validate};

/// The columns every row has, in this order.
pub const PERSON_COLUMNS: [&str; 9] = [
    "insurer_number",
    "symbol",
    "number",
    "branch",
    "name_kana",
    "birth_date",
    "sex",
    "exam_date",
    "institution",
];

/// The short names an item column may have instead of its 17-digit code, each for the code of
/// the most common method (a column named by its code takes any other).
pub const ALIASES: [(&str, &str); 33] = [
    ("height", "9N001000000000001"),
    ("weight", "9N006000000000001"),
    ("bmi", "9N011000000000001"),
    ("waist", "9N016160100000001"),
    ("systolic", "9A751000000000001"),
    ("diastolic", "9A761000000000001"),
    ("blood_draw_timing", "9N141000000000011"),
    ("triglycerides", "3F015000002327101"),
    ("triglycerides_random", "3F015129902327101"),
    ("hdl", "3F070000002327101"),
    ("ldl", "3F077000002327101"),
    ("ast", "3B035000002327201"),
    ("alt", "3B045000002327201"),
    ("ggt", "3B090000002327101"),
    ("glucose", "3D010000002227101"),
    ("glucose_random", "3D010129902227101"),
    ("hba1c", "3D046000001906202"),
    ("urine_glucose", "1A020000000191111"),
    ("urine_protein", "1A010000000191111"),
    ("history", "9N056000000000011"),
    ("history_detail", "9N056160400000049"),
    ("symptoms", "9N061000000000011"),
    ("symptoms_detail", "9N061160800000049"),
    ("findings", "9N066000000000011"),
    ("findings_detail", "9N066160800000049"),
    ("metabolic_syndrome", "9N501000000000011"),
    ("guidance_level", "9N506000000000011"),
    ("diagnosis", "9N511000000000049"),
    ("doctor", "9N516000000000049"),
    ("medication_blood_pressure", "9N701000000000011"),
    ("medication_glucose", "9N706000000000011"),
    ("medication_lipids", "9N711000000000011"),
    ("smoking", "9N736000000000011"),
];

/// The item code a column header names, if any.
fn code_of(header: &str, table: &CodeTable) -> Option<String> {
    let h = header.trim();
    if let Some((_, code)) = ALIASES.iter().find(|(alias, _)| *alias == h) {
        return Some((*code).to_owned());
    }
    table.get(h).map(|i| i.code.clone())
}

/// The text of a CSV file: UTF-8 (with or without a BOM), or else CP932 as Japanese office
/// software writes it; `Err` says where it is neither.
pub fn decode(bytes: &[u8]) -> Result<String, String> {
    use std::io::Read;
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_owned());
    }
    let mut text = String::with_capacity(bytes.len() * 3 / 2);
    onshi_interface::cp932::Cp932Reader::new(bytes)
        .read_to_string(&mut text)
        .map_err(|e| format!("neither UTF-8 nor CP932 (Shift_JIS): {e}"))?;
    Ok(text)
}

/// `docs` as a CSV [`read`] takes: the person columns, then one column per item code (in the
/// order they first appear), an empty cell where a person lacks the item or it was not done.
pub fn write(docs: &[Document]) -> String {
    let mut codes: Vec<&str> = Vec::new();
    for d in docs {
        for o in &d.observations {
            if !codes.contains(&o.code.as_str()) {
                codes.push(&o.code);
            }
        }
    }
    let quote = |s: &str| {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    };
    let mut out = PERSON_COLUMNS.join(",");
    for c in &codes {
        out.push(',');
        out.push_str(c);
    }
    out.push('\n');
    for d in docs {
        let person = [
            d.insurer.clone(),
            d.symbol.clone(),
            d.number.clone(),
            d.branch.clone(),
            d.name_kana.clone(),
            d.birth_date.to_string(),
            d.sex.to_string(),
            d.exam_date.to_string(),
            d.institution.clone(),
        ];
        out.push_str(
            &person
                .iter()
                .map(|p| quote(p))
                .collect::<Vec<_>>()
                .join(","),
        );
        for c in &codes {
            out.push(',');
            let value = d
                .observations
                .iter()
                .find(|o| o.code == *c)
                .map(|o| match &o.value {
                    Value::Quantity { value, .. } => value.as_str(),
                    Value::Coded { code, .. } => code.as_str(),
                    Value::Text(t) => t.as_str(),
                    Value::Null(_) => "",
                });
            out.push_str(&quote(value.unwrap_or_default()));
        }
        out.push('\n');
    }
    out
}

/// A row that passed, with the line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The line in the file (the header is line 1).
    pub line: usize,
    /// The row as a document.
    pub document: Document,
}

/// Reads `text` (the file `file`, created on `created`), handing each valid row to `on_row`;
/// `Err` lists every problem as `file: line N, column: reason`, and the caller must then discard
/// what it was handed.
pub fn read(
    text: &str,
    file: &str,
    created: time::Date,
    table: &CodeTable,
    mut on_row: impl FnMut(Row),
) -> Result<usize, Vec<FileError>> {
    let fail = |place: String, reason: String| FileError {
        file: file.to_owned(),
        place,
        reason,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            return Err(vec![fail(
                "line 1".into(),
                format!("unreadable header: {e}"),
            )]);
        }
    };
    let mut errors = Vec::new();
    for (i, expected) in PERSON_COLUMNS.iter().enumerate() {
        if headers.get(i).map(str::trim) != Some(expected) {
            errors.push(fail(
                format!("line 1, column {}", i + 1),
                format!(
                    "must be {expected} (the header starts {})",
                    PERSON_COLUMNS.join(",")
                ),
            ));
        }
    }
    let mut items: Vec<(String, String)> = Vec::new();
    let mut seen = HashSet::new();
    for (i, h) in headers.iter().enumerate().skip(PERSON_COLUMNS.len()) {
        match code_of(h, table) {
            Some(code) if seen.insert(code.clone()) => items.push((h.trim().to_owned(), code)),
            Some(code) => errors.push(fail(
                format!("line 1, column {}", i + 1),
                format!("{h}: item {code} has a column already"),
            )),
            None => errors.push(fail(
                format!("line 1, column {}", i + 1),
                format!("{h}: neither a 17-digit item code of the 2024 table nor a short name"),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut rows = 0;
    for (n, record) in reader.records().enumerate() {
        let line = n + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(fail(format!("line {line}"), format!("unreadable row: {e}")));
                continue;
            }
        };
        let cell = |i: usize| record.get(i).unwrap_or_default().trim();
        let mut row_errors = Vec::new();
        let mut date = |i: usize| match onshi_domain::parse_date(cell(i)) {
            Ok(d) => Some(d),
            Err(_) => {
                row_errors.push(fail(
                    format!("line {line}, {}", PERSON_COLUMNS[i]),
                    "must be a date (YYYY-MM-DD or YYYYMMDD)".into(),
                ));
                None
            }
        };
        let birth_date = date(5);
        let exam_date = date(7);
        let sex = match cell(6) {
            "1" => 1,
            "2" => 2,
            _ => {
                row_errors.push(fail(
                    format!("line {line}, sex"),
                    "must be 1 (male) or 2 (female)".into(),
                ));
                0
            }
        };
        let institution = cell(8);
        if institution.len() != 10 || !institution.bytes().all(|b| b.is_ascii_digit()) {
            row_errors.push(fail(
                format!("line {line}, institution"),
                "must be the 10-digit 健診機関番号".into(),
            ));
        }
        let mut observations = Vec::new();
        for (k, (column, code)) in items.iter().enumerate() {
            let raw = cell(PERSON_COLUMNS.len() + k);
            if raw.is_empty() {
                continue;
            }
            let Some(item) = table.get(code) else {
                continue;
            };
            let value = match item.value_type {
                ValueType::Quantity => Value::Quantity {
                    value: raw.to_owned(),
                    unit: item.unit.clone(),
                },
                ValueType::Coded => Value::Coded {
                    code: raw.to_owned(),
                    system: item.result_code_system.clone().unwrap_or_default(),
                },
                ValueType::Text => Value::Text(raw.to_owned()),
            };
            if item.value_type == ValueType::Quantity && raw.parse::<f64>().is_err() {
                row_errors.push(fail(
                    format!("line {line}, {column}"),
                    format!("{}: must be a number", item.name),
                ));
                continue;
            }
            observations.push(Observation {
                section: "01010".into(),
                code: code.clone(),
                value,
                interpretation: None,
                method: None,
                line,
            });
        }
        let (Some(birth_date), Some(exam_date)) = (birth_date, exam_date) else {
            errors.extend(row_errors);
            continue;
        };
        let document = Document {
            report_kind: SPECIFIC_CHECKUP.into(),
            created,
            insurer: cell(0).to_owned(),
            symbol: cell(1).to_owned(),
            number: cell(2).to_owned(),
            branch: cell(3).to_owned(),
            name_kana: cell(4).to_owned(),
            birth_date,
            sex,
            postal_code: None,
            institution: institution.to_owned(),
            program: "030".into(),
            exam_date,
            observations,
        };
        for e in validate(&document, table) {
            // Name the column the item came from (its header as written), or the item for
            // one that is missing.
            let code = e
                .path
                .trim_start_matches("observation[code=")
                .trim_end_matches(']');
            let column = items
                .iter()
                .find(|(_, c)| c == code)
                .map_or_else(|| format!("item {code}"), |(h, _)| h.clone());
            row_errors.push(fail(format!("line {line}, {column}"), e.reason));
        }
        if document.insurer.len() != 8
            || onshi_domain::InsurerNumber::parse(&document.insurer).is_err()
        {
            row_errors.push(fail(
                format!("line {line}, insurer_number"),
                "must be 8 digits with its check digit".into(),
            ));
        }
        if row_errors.is_empty() {
            rows += 1;
            on_row(Row { line, document });
        } else {
            errors.extend(row_errors);
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}
