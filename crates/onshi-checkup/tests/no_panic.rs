//! Any bytes given to the checkup parsers (the archive's central directory and entries, the XML
//! tree, the index) either parse or are refused with an error: never a panic.

use std::io::Cursor;

use onshi_checkup::archive::{Archive, Limits};
use onshi_checkup::{codes, document, index, validate, xml};
use proptest::prelude::*;

const NAME: &str = "5521111111_00280081_202405271_1.zip";

fn all_parsers(bytes: &[u8]) {
    if let Ok(mut a) = Archive::open(Cursor::new(bytes.to_vec()), NAME, Limits::default()) {
        for e in a.entries().to_vec() {
            let _ = a.read(&e);
        }
    }
    if let Ok(root) = xml::parse(bytes) {
        let _ = index::read(&root);
        if let Ok(doc) = document::read(&root) {
            let _ = validate::validate(&doc, codes::CodeTable::fy2024());
        }
    }
}

const EXAMPLE: &str = include_str!("fixtures/hc08-example.xml");

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        all_parsers(&bytes);
    }

    #[test]
    fn damaged_indexes_never_panic(
        edits in proptest::collection::vec((0usize..400, any::<u8>()), 1..8),
    ) {
        let mut bytes = br#"<?xml version="1.0"?><index xmlns="http://tokuteikenshin.jp/checkup/2007"><interactionType code="1"/><creationTime value="20240527"/><sender><id root="1.2.392.200119.6.102" extension="5521111111"/></sender><receiver><id root="1.2.392.200119.6.101" extension="00280081"/></receiver><serviceEventType code="1"/><totalRecordCount value="8"/></index>"#.to_vec();
        for (at, b) in edits {
            let at = at % bytes.len();
            bytes[at] = b;
        }
        all_parsers(&bytes);
    }

    #[test]
    fn damaged_documents_never_panic(
        edits in proptest::collection::vec((0usize..EXAMPLE.len(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let mut bytes = EXAMPLE.as_bytes().to_vec();
        for (at, b, kind) in edits {
            let at = at.min(bytes.len().saturating_sub(1));
            match kind {
                0 => bytes[at] = b,
                1 => bytes.insert(at, b),
                _ => { bytes.remove(at); }
            }
        }
        all_parsers(&bytes);
    }
}
