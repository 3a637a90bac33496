//! An insurer's member file as `onshi import members` reads it: the first byte picks UTF-8 or
//! CP932 (decoded as it is read), then the CSV reader with the import's settings, the header's
//! column map, and every row's field-by-field validation.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use onshi_domain::import::ColumnMap;
use onshi_interface::cp932::Cp932Reader;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    let source: Box<dyn Read> = if mode & 1 == 0 {
        Box::new(bytes)
    } else {
        Box::new(Cp932Reader::new(bytes))
    };
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(source);
    let mut record = csv::ByteRecord::new();
    let mut header: Option<ColumnMap> = None;
    while let Ok(true) = csv.read_byte_record(&mut record) {
        let Ok(fields) = record
            .iter()
            .map(std::str::from_utf8)
            .collect::<Result<Vec<&str>, _>>()
        else {
            return;
        };
        match &header {
            None => match ColumnMap::from_header(fields.iter().copied()) {
                Ok(map) => header = Some(map),
                Err(_) => return,
            },
            Some(map) => {
                if fields.len() == map.width() {
                    let _ = map.input(|i| fields.get(i).copied()).validate();
                }
            }
        }
    }
});
