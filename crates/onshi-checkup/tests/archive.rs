//! Whole archives: one in the published format passes; the same archive with one fault of each
//! kind the issue names is refused whole, each error naming its file and element.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Cursor, Write};

use onshi_checkup::archive::Limits;
use onshi_checkup::codes::CodeTable;
use onshi_checkup::import::{FileError, read_archive};
use zip::write::SimpleFileOptions;

#[path = "support/claims.rs"]
mod claims;
use claims::claim_for;

const NAME: &str = "5521111111_00280081_202405271_1.zip";
const ROOT: &str = "5521111111_00280081_202405271_1";
const COMPLETE: &str = include_str!("fixtures/hc08-complete.xml");

fn index(total: usize, ns: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><index xmlns="{ns}"><interactionType code="1"/><creationTime value="20240527"/><sender><id root="1.2.392.200119.6.102" extension="5521111111"/></sender><receiver><id root="1.2.392.200119.6.101" extension="00280081"/></receiver><serviceEventType code="1"/><totalRecordCount value="{total}"/></index>"#
    )
}

/// An archive of `docs` (file name suffix, content), with its index and a claim per document
/// in the old namespace, as real producers mix them.
fn archive(docs: &[(&str, String)], extra: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default();
    w.start_file(format!("{ROOT}/ix08_V08.xml"), opts).unwrap();
    w.write_all(
        index(
            docs.len() * 2,
            "https://www.mhlw.go.jp/stf/seisakunitsuite/bunya/0000161103.html",
        )
        .as_bytes(),
    )
    .unwrap();
    w.start_file(format!("{ROOT}/su08_V08.xml"), opts).unwrap();
    w.write_all(b"<summary xmlns=\"http://tokuteikenshin.jp/checkup/2007\"><totalSubjectCount value=\"99\"/></summary>")
        .unwrap();
    for (suffix, content) in docs {
        w.start_file(
            format!("{ROOT}/DATA/h5521111111202405271{suffix}.xml"),
            opts,
        )
        .unwrap();
        w.write_all(content.as_bytes()).unwrap();
        w.start_file(
            format!("{ROOT}/CLAIMS/c5521111111202405271{suffix}.xml"),
            opts,
        )
        .unwrap();
        w.write_all(claim_for(content, 7000, 1000).as_bytes())
            .unwrap();
    }
    for (name, content) in extra {
        w.start_file(*name, opts).unwrap();
        w.write_all(content).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn read(bytes: Vec<u8>) -> Result<(usize, Vec<String>), Vec<FileError>> {
    let mut handed = 0;
    read_archive(
        Cursor::new(bytes),
        NAME,
        Limits::default(),
        CodeTable::fy2024(),
        |_| handed += 1,
    )
    .map(|r| (handed, r.warnings))
}

fn person(n: u32) -> String {
    COMPLETE.replace(r#"extension="5678""#, &format!(r#"extension="{n}""#))
}

#[test]
fn a_well_formed_archive_passes_with_its_warnings() {
    let docs: Vec<(String, String)> = (1..=3)
        .map(|n| (format!("_{n:04}_00280081"), person(n)))
        .collect();
    let docs: Vec<(&str, String)> = docs.iter().map(|(s, c)| (s.as_str(), c.clone())).collect();
    let (handed, warnings) = read(archive(&docs, &[])).unwrap();
    assert_eq!(handed, 3);
    assert_eq!(
        warnings.len(),
        1,
        "the summary's wrong total is a warning: {warnings:?}"
    );
    assert!(warnings[0].contains("totalSubjectCount"));
}

#[test]
fn one_fault_refuses_the_whole_archive_naming_file_and_element() {
    let good = |n: u32| (format!("_{n:04}_00280081"), person(n));
    let faults: [(&str, String, &str); 4] = [
        (
            "a bad item code",
            person(9).replace("9N006000000000001", "9N006000000000009"),
            "9N006000000000009",
        ),
        (
            "an out-of-range value",
            person(9).replace(r#"value="170.2" unit="cm""#, r#"value="17.2" unit="cm""#),
            "身長: outside what a body can show",
        ),
        (
            "random glucose two hours after a meal",
            person(9)
                .replace("3D010000001926101", "3D010129901926101")
                .replace(
                    r#"code="2" codeSystem="1.2.392.200119.6.2202""#,
                    r#"code="4" codeSystem="1.2.392.200119.6.2202""#,
                ),
            "3D010129901926101",
        ),
        (
            "a 5-digit insurer number",
            person(9).replace(
                r#"<id extension="00280081" root="1.2.392.200119.6.101"/>"#,
                r#"<id extension="28008" root="1.2.392.200119.6.101"/>"#,
            ),
            "recordTarget/patientRole/id[@root='1.2.392.200119.6.101']/@extension",
        ),
    ];
    for (what, bad, expected) in faults {
        let docs = [good(1), ("_0009_00280081".to_owned(), bad), good(2)];
        let docs: Vec<(&str, String)> = docs.iter().map(|(s, c)| (s.as_str(), c.clone())).collect();
        let errors = read(archive(&docs, &[])).unwrap_err();
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(
            shown.iter().any(
                |e| e.contains("DATA/h5521111111202405271_0009_00280081.xml")
                    && e.contains(expected)
            ),
            "{what}: {expected} in {shown:?}"
        );
        assert!(
            shown.iter().all(|e| e.contains("_0009_")),
            "{what}: only the bad file is named: {shown:?}"
        );
    }
    // A `../` entry: refused from the directory, before any document is read.
    let docs = [good(1)];
    let docs: Vec<(&str, String)> = docs.iter().map(|(s, c)| (s.as_str(), c.clone())).collect();
    let errors = read(archive(
        &docs,
        &[(&format!("{ROOT}/../../etc/cron.d/x"), b"x")],
    ))
    .unwrap_err();
    assert!(
        errors[0]
            .to_string()
            .contains("must stay inside the archive"),
        "{errors:?}"
    );
}

#[test]
fn the_index_is_held_to_the_name_and_the_files() {
    let docs = [("_0001_00280081", person(1))];
    let docs: Vec<(&str, String)> = docs.iter().map(|(s, c)| (*s, c.clone())).collect();
    let bytes = archive(&docs, &[]);
    // Renamed for another insurer: the index and the document say otherwise.
    let errors = read_archive(
        Cursor::new(bytes),
        "5521111111_01130012_202405271_1.zip",
        Limits::default(),
        CodeTable::fy2024(),
        |_| {},
    )
    .unwrap_err();
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(
        shown
            .iter()
            .any(|e| e.contains("every entry must be in the folder")),
        "{shown:?}"
    );
    // An index that counts other files, or names another receiver and 実施区分.
    let bytes = archive(&docs, &[]);
    let mut z = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..z.len() {
        let f = z.by_index_raw(i).unwrap();
        if f.name().unwrap().ends_with("ix08_V08.xml") {
            continue;
        }
        w.raw_copy_file(f).unwrap();
    }
    w.start_file(format!("{ROOT}/ix08_V08.xml"), SimpleFileOptions::default())
        .unwrap();
    let wrong = index(5, "http://tokuteikenshin.jp/checkup/2007")
        .replace(r#"extension="00280081""#, r#"extension="01130012""#)
        .replace(
            r#"<serviceEventType code="1"/>"#,
            r#"<serviceEventType code="2"/>"#,
        );
    w.write_all(wrong.as_bytes()).unwrap();
    let errors = read(w.finish().unwrap().into_inner()).unwrap_err();
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    for expected in [
        "ix08_V08.xml: receiver/id/@extension: is not the archive name's insurer",
        "ix08_V08.xml: serviceEventType/@code",
        "ix08_V08.xml: totalRecordCount/@value: says 5 files",
    ] {
        assert!(
            shown.iter().any(|e| e.contains(expected)),
            "{expected} in {shown:?}"
        );
    }
}

#[test]
fn claims_are_paired_with_their_documents_and_their_money_added_up() {
    let mut claims = Vec::new();
    let read_claims = |bytes: Vec<u8>, claims: &mut Vec<Option<i64>>| {
        read_archive(
            Cursor::new(bytes),
            NAME,
            Limits::default(),
            CodeTable::fy2024(),
            |c| claims.push(c.claim.map(|c| c.claim_amount)),
        )
    };
    let docs: Vec<(String, String)> = (1..=2)
        .map(|n| (format!("_{n:04}_00280081"), person(n)))
        .collect();
    let docs: Vec<(&str, String)> = docs.iter().map(|(s, c)| (s.as_str(), c.clone())).collect();
    let receipt = read_claims(archive(&docs, &[]), &mut claims).unwrap();
    assert_eq!(claims, [Some(6000), Some(6000)]);
    assert_eq!((receipt.claims, receipt.claimed), (2, 12_000));

    // Rebuilt with one claim changed: `change` gets the claim of person 2.
    let with_claim = |change: &dyn Fn(String) -> String, summary: Option<&str>| {
        let bytes = archive(&docs, &[]);
        let mut z = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for i in 0..z.len() {
            let name = z.by_index(i).unwrap().name().unwrap().to_string();
            if name.contains("CLAIMS/") && name.contains("_0002_") {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut z.by_index(i).unwrap(), &mut text).unwrap();
                w.start_file(name, SimpleFileOptions::default()).unwrap();
                w.write_all(change(text).as_bytes()).unwrap();
            } else if name.ends_with("su08_V08.xml") && summary.is_some() {
                w.start_file(name, SimpleFileOptions::default()).unwrap();
                w.write_all(summary.unwrap_or_default().as_bytes()).unwrap();
            } else {
                w.raw_copy_file(z.by_index_raw(i).unwrap()).unwrap();
            }
        }
        w.finish().unwrap().into_inner()
    };
    // Another person's card on the claim: refused, naming the claim file.
    let errors = read_archive(
        Cursor::new(with_claim(
            &|t| {
                t.replace(r#"extension="2" root"#, r#"extension="3" root"#)
                    .replace(
                        r#"root="1.2.392.200119.6.205" extension="2""#,
                        r#"root="1.2.392.200119.6.205" extension="3""#,
                    )
            },
            None,
        )),
        NAME,
        Limits::default(),
        CodeTable::fy2024(),
        |_| {},
    )
    .unwrap_err();
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(
        shown.iter().any(|e| e.contains("CLAIMS/c5521111111202405271_0002_00280081.xml: subjectPerson/insuranceCard: is not the card of its document")),
        "{shown:?}"
    );
    // Money that is not a number: refused, naming the element.
    let errors = read_archive(
        Cursor::new(with_claim(
            &|t| {
                t.replace(
                    r#"<claimAmount value="6000""#,
                    r#"<claimAmount value="六千""#,
                )
            },
            None,
        )),
        NAME,
        Limits::default(),
        CodeTable::fy2024(),
        |_| {},
    )
    .unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.place == "settlement/claimAmount/@value"),
        "{errors:?}"
    );
    // Amounts that do not add up, and a summary whose totals differ: warnings, as real
    // producers get these wrong without harm.
    let summary = r#"<summary xmlns="https://www.mhlw.go.jp/stf/seisakunitsuite/bunya/0000161103.html"><serviceEventType code="1"/><totalSubjectCount value="2"/><totalCostAmount value="14000" currency="JPY"/><totalPaymentAmount value="2000" currency="JPY"/><totalPaymentByOtherProgram value="0" currency="JPY"/><totalClaimAmount value="12000" currency="JPY"/></summary>"#;
    let mut claims = Vec::new();
    let receipt = read_claims(
        with_claim(
            &|t| {
                t.replace(
                    r#"<claimAmount value="6000""#,
                    r#"<claimAmount value="5000""#,
                )
            },
            Some(summary),
        ),
        &mut claims,
    )
    .unwrap();
    assert_eq!(receipt.claimed, 11_000);
    assert!(
        receipt
            .warnings
            .iter()
            .any(|w| w.contains("_0002_") && w.contains("claimAmount is not")),
        "{:?}",
        receipt.warnings
    );
    assert!(
        receipt.warnings.iter().any(|w| w.contains(
            "su08_V08.xml: totalClaimAmount/@value is not the claims' total (11000 yen)"
        )),
        "{:?}",
        receipt.warnings
    );
    assert_eq!(receipt.warnings.len(), 2, "{:?}", receipt.warnings);
    // A claim without its document, and a guidance claim: refused.
    let errors = read_archive(
        Cursor::new(archive(
            &docs,
            &[(
                &format!("{ROOT}/CLAIMS/c5521111111202405271_0077_00280081.xml"),
                claim_for(&person(1), 1, 0).as_bytes(),
            )],
        )),
        NAME,
        Limits::default(),
        CodeTable::fy2024(),
        |_| {},
    )
    .unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.file.ends_with("_0077_00280081.xml")
                && e.reason.contains("no document in DATA/")),
        "{errors:?}"
    );
    let errors = read_archive(
        Cursor::new(with_claim(
            &|_| {
                r#"<healthGuidanceClaim xmlns="http://tokuteikenshin.jp/checkup/2007"/>"#.to_owned()
            },
            None,
        )),
        NAME,
        Limits::default(),
        CodeTable::fy2024(),
        |_| {},
    )
    .unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.reason.contains("特定保健指導 claim")),
        "{errors:?}"
    );
}
