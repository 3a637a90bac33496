//! Archives onshi writes: read back by onshi's own reader, and valid against the MHLW V08
//! schemas they carry (checked with libxml2's `xmllint`, as a second, independent reader).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Cursor;
use std::process::Command;

use onshi_checkup::archive::Limits;
use onshi_checkup::codes::CodeTable;
use onshi_checkup::document::{self, Document};
use onshi_checkup::import::read_archive;
use onshi_checkup::write::{ArchiveWriter, INSTITUTION_OID};
use time::macros::date;

#[path = "support/schema_check.rs"]
mod schema_check;
use schema_check::{validate_archive, xmllint};

fn fixture() -> Document {
    let root = onshi_checkup::xml::parse(include_bytes!("fixtures/hc08-complete.xml")).unwrap();
    document::read(&root).unwrap()
}

/// An archive of `docs` from institution 5521111111 to insurer 00280081: of checkups (split 1
/// of 2024-05-27) or, with `guidance`, of guidance (split 0 of 2025-03-02).
fn written_as(guidance: bool, docs: &[Document], schemas: bool) -> (String, Vec<u8>) {
    let start = if guidance {
        ArchiveWriter::new_guidance
    } else {
        ArchiveWriter::new
    };
    let (created, split) = if guidance {
        (date!(2025 - 03 - 02), 0)
    } else {
        (date!(2024 - 05 - 27), 1)
    };
    let mut w = start(
        Cursor::new(Vec::new()),
        ("5521111111", INSTITUTION_OID),
        "00280081",
        created,
        split,
        6,
        schemas,
    )
    .unwrap();
    for d in docs {
        w.add(d, "オンシ健診センター").unwrap();
    }
    let name = w.file_name();
    (name, w.finish().unwrap().into_inner())
}

fn written(docs: &[Document], schemas: bool) -> (String, Vec<u8>) {
    written_as(false, docs, schemas)
}

#[test]
fn written_archives_read_back_document_for_document() {
    let mut docs = Vec::new();
    for n in 1..=3 {
        let mut d = fixture();
        d.number = format!("{n}");
        // Text that XML must escape survives.
        d.name_kana = "ｼｹﾝ <&> ﾀﾛｳ".into();
        docs.push(d);
    }
    let (name, bytes) = written(&docs, true);
    assert_eq!(name, "5521111111_00280081_202405271_1.zip");
    let mut read = Vec::new();
    let receipt = read_archive(
        Cursor::new(bytes),
        &name,
        Limits::default(),
        CodeTable::fy2024(),
        |c| read.push(c.document),
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(receipt.documents, 3);
    for (got, sent) in read.iter().zip(&docs) {
        assert_eq!(got.number, sent.number);
        assert_eq!(got.name_kana, sent.name_kana);
        assert_eq!(
            (
                got.birth_date,
                got.exam_date,
                &got.institution,
                &got.program
            ),
            (
                sent.birth_date,
                sent.exam_date,
                &sent.institution,
                &sent.program
            )
        );
        let codes = |d: &Document| -> Vec<(String, String)> {
            d.observations
                .iter()
                .map(|o| (o.code.clone(), format!("{:?}", o.value)))
                .collect()
        };
        assert_eq!(codes(got), codes(sent), "every observation and value");
    }
}

#[test]
fn written_archives_validate_against_the_schemas_they_carry() {
    if !xmllint() {
        return;
    }
    let (name, bytes) = written(&[fixture(), fixture()], true);
    let dir = tempfile::tempdir().unwrap();
    let (root, data) = validate_archive(dir.path(), &name, bytes);
    assert_eq!(data.len(), 2);
    // And a document the schema refuses is refused by xmllint here (the check can fail).
    let bad = root.join("bad.xml");
    let text = std::fs::read_to_string(root.join("ix08_V08.xml"))
        .unwrap()
        .replace("<creationTime", "<creationTimes");
    std::fs::write(&bad, text).unwrap();
    let out = Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(root.join("XSD/ix08_V08.xsd"))
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
}

/// A guidance document (hg08) of the fixture's person: report kind `kind` on `on`.
fn guidance(kind: &str, on: time::Date) -> Document {
    let mut d = fixture();
    d.report_kind = kind.into();
    d.exam_date = on;
    d.created = on;
    d.program = "000".into();
    d.observations.clear();
    d
}

fn written_guidance(docs: &[Document]) -> (String, Vec<u8>) {
    written_as(true, docs, true)
}

#[test]
fn guidance_archives_are_written_valid_and_read_back() {
    let docs = [
        guidance("21", date!(2024 - 09 - 02)),
        guidance("22", date!(2025 - 01 - 20)),
        guidance("23", date!(2025 - 02 - 01)),
    ];
    let (name, bytes) = written_guidance(&docs);
    assert_eq!(name, "5521111111_00280081_202503020_2.zip");
    if xmllint() {
        let dir = tempfile::tempdir().unwrap();
        let (_, data) = validate_archive(dir.path(), &name, bytes.clone());
        assert_eq!(data.len(), 3);
        assert!(
            data.iter().all(|p| p
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("h552111111120250302020")),
            "the 21st character names 実施区分 2: {data:?}"
        );
    }
    let mut read = Vec::new();
    let receipt = read_archive(
        Cursor::new(bytes),
        &name,
        Limits::default(),
        CodeTable::fy2024(),
        |c| read.push(c.document),
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(receipt.documents, 3);
    assert_eq!(receipt.index.service, 2);
    let got: Vec<(&str, time::Date, bool)> = read
        .iter()
        .map(|d| (d.report_kind.as_str(), d.exam_date, d.is_guidance()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("21", date!(2024 - 09 - 02), true),
            ("22", date!(2025 - 01 - 20), true),
            ("23", date!(2025 - 02 - 01), true),
        ]
    );
}

#[test]
fn each_kind_of_document_goes_in_its_own_kind_of_archive() {
    // A checkup in a guidance archive, and a guidance document in a checkup archive: refused,
    // naming the file and the report kind.
    let (name, bytes) = written_guidance(&[guidance("22", date!(2025 - 01 - 20)), fixture()]);
    let errors = read_archive(
        Cursor::new(bytes),
        &name,
        Limits::default(),
        CodeTable::fy2024(),
        |_| {},
    )
    .unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].file.ends_with("000002.xml"), "{errors:?}");
    assert_eq!(errors[0].place, "code/@code");
    assert!(
        errors[0]
            .reason
            .contains("報告区分 10 is not a 特定保健指導 report"),
        "{errors:?}"
    );
    let (name, bytes) = written(&[fixture(), guidance("21", date!(2024 - 09 - 02))], false);
    let errors = read_archive(
        Cursor::new(bytes),
        &name,
        Limits::default(),
        CodeTable::fy2024(),
        |_| {},
    )
    .unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0]
            .reason
            .contains("報告区分 21 is a 特定保健指導 report"),
        "{errors:?}"
    );
}
