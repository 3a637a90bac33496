//! A checkup archive as an upload reaches onshi: the central directory's checks, every entry
//! read through its bound, each XML entry parsed, and the index read.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use onshi_checkup::archive::{Archive, EntryKind, Limits};
use onshi_checkup::codes::CodeTable;
use onshi_checkup::{document, index, validate, xml};

const NAME: &str = "5521111111_00280081_202405271_1.zip";

fuzz_target!(|bytes: &[u8]| {
    if let Ok(mut archive) = Archive::open(Cursor::new(bytes), NAME, Limits::default()) {
        for entry in archive.entries().to_vec() {
            if entry.kind == EntryKind::Directory || entry.kind == EntryKind::Schema {
                continue;
            }
            if let Ok(content) = archive.read(&entry)
                && let Ok(root) = xml::parse(&content)
            {
                match entry.kind {
                    EntryKind::Index => drop(index::read(&root)),
                    EntryKind::Data => {
                        if let Ok(doc) = document::read(&root) {
                            drop(validate::validate(&doc, CodeTable::fy2024()));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    if let Ok(root) = xml::parse(bytes) {
        let _ = index::read(&root);
        if let Ok(doc) = document::read(&root) {
            let _ = validate::validate(&doc, CodeTable::fy2024());
        }
    }
});
