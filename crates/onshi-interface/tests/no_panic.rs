//! Any bytes given to the facility interface's parsers either parse or are refused with an
//! error: never a panic. Random bytes, and valid requests with bytes flipped, cut or inserted
//! (which reach much deeper into the parser than random bytes do).

use onshi_interface::{charset_of, parse_request, raw_header};
use proptest::prelude::*;

const NAMES: [&str; 4] = [
    "OQSsiquc01req_1.xml",
    "OQSmuquc01req_1.xml",
    "OQSmuquc02req_1.xml",
    "OQSsiimm01req_1.xml",
];

const VALID: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<XmlMsg><MessageHeader>\
<QualificationConfirmationDate>20261124</QualificationConfirmationDate>\
<MedicalInstitutionCode>1311234567</MedicalInstitutionCode>\
<ArbitraryFileIdentifier>a&amp;b</ArbitraryFileIdentifier></MessageHeader><MessageBody>\
<QualificationConfirmSearchInfo><InsurerNumber>01130012</InsurerNumber>\
<InsuredCardSymbol>10</InsuredCardSymbol><InsuredIdentificationNumber>1</InsuredIdentificationNumber>\
<InsuredBranchNumber>00</InsuredBranchNumber><Birthdate>19900506</Birthdate>\
<LimitApplicationCertificateRelatedConsFlg>1</LimitApplicationCertificateRelatedConsFlg>\
<ArbitraryIdentifier>p1</ArbitraryIdentifier></QualificationConfirmSearchInfo>\
<ReceptionNumber>4F1A09C2D3E4B5A69788</ReceptionNumber></MessageBody></XmlMsg>";

fn all_parsers(bytes: &[u8]) {
    for name in NAMES {
        let _ = parse_request(name, bytes);
    }
    let _ = raw_header(bytes);
    let _ = charset_of(bytes);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        all_parsers(&bytes);
    }

    /// The CP932 decoder of member files, with reads of any size.
    #[test]
    fn cp932_decoding_never_panics(
        bytes in proptest::collection::vec(any::<u8>(), 0..4096),
        chunk in 1usize..300,
    ) {
        use std::io::Read;
        let mut reader = onshi_interface::cp932::Cp932Reader::new(bytes.as_slice());
        let mut buf = vec![0u8; chunk];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
        }
    }

    #[test]
    fn damaged_requests_never_panic(
        edits in proptest::collection::vec((0usize..VALID.len(), any::<u8>(), 0u8..3), 1..8),
        sjis in any::<bool>(),
    ) {
        let mut bytes = if sjis {
            encoding_rs::SHIFT_JIS
                .encode(&VALID.replace("UTF-8", "Shift_JIS").replace("p1", "試験ｼｹﾝ"))
                .0
                .into_owned()
        } else {
            VALID.as_bytes().to_vec()
        };
        for (at, byte, kind) in edits {
            let at = at.min(bytes.len());
            match kind {
                0 if at < bytes.len() => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ => bytes.truncate(at.max(1)),
            }
        }
        all_parsers(&bytes);
    }
}
