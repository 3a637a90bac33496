//! A checkup archive as an upload reaches onshi: the whole import read (directory checks, every
//! entry through its bound, the index against the name, each document read and validated), and
//! the same bytes as a single XML file through each reader.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use onshi_checkup::archive::Limits;
use onshi_checkup::codes::CodeTable;
use onshi_checkup::{document, import, index, validate, xml};

const NAME: &str = "5521111111_00280081_202405271_1.zip";

fuzz_target!(|bytes: &[u8]| {
    let _ = import::read_archive(Cursor::new(bytes), NAME, Limits::default(), CodeTable::fy2024(), |_| {});
    if let Ok(root) = xml::parse(bytes) {
        let _ = index::read(&root);
        if let Ok(doc) = document::read(&root) {
            let _ = validate::validate(&doc, CodeTable::fy2024());
        }
    }
});
