//! Validating a written archive against the MHLW V08 schemas it carries in `XSD/`, with
//! libxml2's `xmllint` (a second, independent reader). Shared by the checkup crate's tests and
//! the server's (which include this file by path).

use std::io::Cursor;
use std::path::PathBuf;
use std::process::Command;

/// Whether `xmllint` can run here; CI requires it (`ONSHI_REQUIRE_XMLLINT=1`), elsewhere its
/// absence is printed and the check skipped.
pub fn xmllint() -> bool {
    let found = Command::new("xmllint").arg("--version").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("ONSHI_REQUIRE_XMLLINT").is_none(),
            "ONSHI_REQUIRE_XMLLINT is set but xmllint (Debian: libxml2-utils) is not installed"
        );
        eprintln!(
            "note: skipping the schema check: xmllint (Debian: libxml2-utils) is not installed"
        );
    }
    found
}

/// Unpacks the archive `name` into `dir` and checks its index and each `DATA/` document
/// against the schemas in its own `XSD/`; panics naming the file and xmllint's complaint.
/// Returns the archive's root folder and its `DATA/` files.
pub fn validate_archive(
    dir: &std::path::Path,
    name: &str,
    bytes: Vec<u8>,
) -> (PathBuf, Vec<PathBuf>) {
    zip::ZipArchive::new(Cursor::new(bytes))
        .unwrap()
        .extract(dir)
        .unwrap();
    let root = dir.join(name.trim_end_matches(".zip"));
    let mut data: Vec<_> = std::fs::read_dir(root.join("DATA"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    data.sort();
    for (schema, files) in [
        ("XSD/ix08_V08.xsd", vec![root.join("ix08_V08.xml")]),
        (
            // 実施区分 2 holds guidance documents (hg08), 1 checkups (hc08).
            if name.ends_with("_2.zip") {
                "XSD/hg08_V08.xsd"
            } else {
                "XSD/hc08_V08.xsd"
            },
            data.clone(),
        ),
    ] {
        for file in files {
            let out = Command::new("xmllint")
                .arg("--noout")
                .arg("--schema")
                .arg(root.join(schema))
                .arg(&file)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}: {}",
                file.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    (root, data)
}
