//! Employers' CSV files: read into the same documents a standard archive gives, held to the
//! same rules, every problem named by line and column.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use onshi_checkup::codes::CodeTable;
use onshi_checkup::document::{self, Document, Value};
use onshi_checkup::employer_csv::{read, write};
use time::macros::date;

fn fixture() -> Document {
    let root = onshi_checkup::xml::parse(include_bytes!("fixtures/hc08-complete.xml")).unwrap();
    document::read(&root).unwrap()
}

/// The fixture as a CSV: its items as columns named by their codes, except the ones in
/// `aliases` (code → short name): the header line and the row.
fn csv_of(doc: &Document, aliases: &[(&str, &str)]) -> (String, String) {
    let text = write(std::slice::from_ref(doc));
    let mut lines = text.lines();
    let mut header = lines.next().unwrap().to_owned();
    for (code, alias) in aliases {
        header = header.replace(code, alias);
    }
    (header, lines.next().unwrap().to_owned())
}

fn errors(text: &str) -> Vec<String> {
    read(
        text,
        "results.csv",
        date!(2026 - 11 - 24),
        CodeTable::fy2024(),
        |_| {},
    )
    .unwrap_err()
    .iter()
    .map(ToString::to_string)
    .collect()
}

#[test]
fn a_row_becomes_the_document_an_archive_would_give() {
    let doc = fixture();
    let (header, row) = csv_of(
        &doc,
        &[
            ("9N001000000000001", "height"),
            ("9A751000000000001", "systolic"),
        ],
    );
    let mut rows = Vec::new();
    let n = read(
        &format!("\u{feff}{header}\n{row}\n{row}\n"),
        "results.csv",
        date!(2026 - 11 - 24),
        CodeTable::fy2024(),
        |r| rows.push(r),
    )
    .unwrap();
    assert_eq!((n, rows.len()), (2, 2));
    assert_eq!(rows[1].line, 3);
    let got = &rows[0].document;
    assert_eq!(
        (got.report_kind.as_str(), got.program.as_str()),
        ("10", "030")
    );
    assert_eq!(got.exam_date, doc.exam_date);
    let values = |d: &Document| {
        d.observations
            .iter()
            .filter(|o| !matches!(o.value, Value::Null(_)))
            .map(|o| (o.code.clone(), o.value.clone()))
            .collect::<Vec<_>>()
    };
    // Every item as the archive has it, in the table's unit and code system.
    let expected = values(&doc);
    assert_eq!(values(got).len(), expected.len());
    for ((code, v), (code2, w)) in values(got).iter().zip(&expected) {
        assert_eq!(code, code2);
        match (v, w) {
            (Value::Quantity { value: a, .. }, Value::Quantity { value: b, .. }) => {
                assert_eq!(a, b)
            }
            (Value::Coded { code: a, .. }, Value::Coded { code: b, .. }) => assert_eq!(a, b),
            (Value::Text(a), Value::Text(b)) => assert_eq!(a, b),
            other => panic!("{code}: {other:?}"),
        }
    }
}

#[test]
fn each_problem_is_named_by_line_and_column() {
    let doc = fixture();
    let (header, row) = csv_of(&doc, &[("9N006000000000001", "weight")]);
    let weight = doc
        .observations
        .iter()
        .find(|o| o.code == "9N006000000000001")
        .map(|o| match &o.value {
            Value::Quantity { value, .. } => value.clone(),
            _ => unreachable!(),
        })
        .unwrap();
    // An unknown column, a duplicate, a wrong person column: the header alone is refused.
    let e = errors(&format!("{header},9Z999999999999999,weight\n"));
    assert!(
        e.iter()
            .any(|e| e.contains("line 1, column") && e.contains("9Z999999999999999: neither")),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|e| e.contains("weight: item 9N006000000000001 has a column already")),
        "{e:?}"
    );
    let e = errors(&header.replacen("birth_date", "born", 1));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("results.csv: line 1, column 6: must be birth_date"),
        "{e:?}"
    );
    // Row faults, each on its own line, the values never shown.
    let not_a_number = row.replacen(&format!(",{weight},"), ",heavy,", 1);
    let impossible = row.replacen(&format!(",{weight},"), ",999.9,", 1);
    let bad_sex = {
        let mut f: Vec<&str> = row.split(',').collect();
        f[6] = "3";
        f.join(",")
    };
    let bad_insurer = row.replacen(&doc.insurer, "12345", 1);
    let e = errors(&format!(
        "{header}\n{row}\n{not_a_number}\n{impossible}\n{bad_sex}\n{bad_insurer}\n"
    ));
    assert!(
        e.contains(&"results.csv: line 3, weight: 体重: must be a number".to_owned()),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|e| e
                .starts_with("results.csv: line 4, weight: 体重: outside what a body can show")),
        "{e:?}"
    );
    assert!(
        e.contains(&"results.csv: line 5, sex: must be 1 (male) or 2 (female)".to_owned()),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|e| e.starts_with("results.csv: line 6, insurer_number:")),
        "{e:?}"
    );
    assert!(
        !e.iter().any(|e| e.contains("line 2,")),
        "the good row has no error: {e:?}"
    );
    assert!(
        !e.iter().any(|e| e.contains("999.9") || e.contains("heavy")),
        "no values in errors"
    );
}

#[test]
fn a_random_glucose_right_after_a_meal_and_missing_items_are_refused() {
    let doc = fixture();
    let (header, row) = csv_of(&doc, &[]);
    // Add a random glucose drawn within 3.5 hours (採血時間 4).
    let timing_at = header
        .split(',')
        .position(|h| h == "9N141000000000011")
        .unwrap();
    let mut cells: Vec<String> = row.split(',').map(str::to_owned).collect();
    cells[timing_at] = "4".into();
    let e = errors(&format!(
        "{header},glucose_random\n{},130\n",
        cells.join(",")
    ));
    assert!(
        e.iter().any(|e| e.starts_with(
            "results.csv: line 2, glucose_random: 随時血糖: a random value drawn within 3.5 hours"
        )),
        "{e:?}"
    );
    // Leave the height empty: a 特定健診 needs it.
    let height_at = header
        .split(',')
        .position(|h| h == "9N001000000000001")
        .unwrap();
    let mut cells: Vec<String> = row.split(',').map(str::to_owned).collect();
    cells[height_at] = String::new();
    let e = errors(&format!("{header}\n{}\n", cells.join(",")));
    assert!(
        e.iter()
            .any(|e| e.starts_with("results.csv: line 2, 9N001000000000001: 身長: required")),
        "{e:?}"
    );
}

#[test]
fn every_short_name_is_an_item_of_the_table_and_documented() {
    let table = CodeTable::fy2024();
    let docs = include_str!("../../../docs/checkups.md");
    for (alias, code) in onshi_checkup::employer_csv::ALIASES {
        assert!(table.get(code).is_some(), "{alias}: {code}");
        assert!(
            docs.contains(&format!("`{alias}`")) && docs.contains(code),
            "{alias} in docs/checkups.md"
        );
    }
}
