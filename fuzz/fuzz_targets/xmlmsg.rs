//! The XmlMsg reader of the folder exchange: every request kind, the header echo and the
//! charset sniffing, on any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onshi_interface::{charset_of, parse_request, raw_header};

const NAMES: [&str; 4] = [
    "OQSsiquc01req_1.xml",
    "OQSmuquc01req_1.xml",
    "OQSmuquc02req_1.xml",
    "OQSsiimm01req_1.xml",
];

fuzz_target!(|bytes: &[u8]| {
    for name in NAMES {
        let _ = parse_request(name, bytes);
    }
    let _ = raw_header(bytes);
    let _ = charset_of(bytes);
});
