//! Certificates, CRLs and signatures from outside (a card's proof, an operator's files) never
//! panic the verifier: damaged or random bytes are refused with a reason. Valid DER with bytes
//! flipped reaches far deeper into the parsers than random bytes do.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::sync::OnceLock;

use onshi_pki::{Authority, CertKind, StalePolicy, Verifier, verify_signature};
use proptest::prelude::*;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-11-24 10:00 UTC);

struct Fixture {
    verifier: Verifier,
    cert: Vec<u8>,
    crl: Vec<u8>,
    anchor: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let ca = Authority::create(CertKind::Card, NOW - Duration::days(400)).unwrap();
        let issued = ca
            .issue(NOW - Duration::days(30), NOW + Duration::days(1000))
            .unwrap();
        let crl = ca
            .crl(&[], 1, NOW - Duration::hours(1), NOW + Duration::days(1))
            .unwrap();
        let anchor = ca.cert_pem().as_bytes().to_vec();
        Fixture {
            verifier: Verifier::new(
                &[(CertKind::Card, anchor.clone())],
                std::slice::from_ref(&crl),
                StalePolicy::Reject,
                NOW,
            )
            .unwrap(),
            cert: issued.cert_der.clone(),
            crl,
            anchor,
        }
    })
}

fn flip(mut bytes: Vec<u8>, edits: &[(usize, u8)]) -> Vec<u8> {
    for &(at, b) in edits {
        if !bytes.is_empty() {
            let i = at % bytes.len();
            bytes[i] ^= b;
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn damaged_certificates_and_signatures_never_panic(
        edits in proptest::collection::vec((any::<usize>(), 1u8..=255), 0..6),
        random in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let f = fixture();
        let _ = f.verifier.verify(&random, NOW);
        let damaged = flip(f.cert.clone(), &edits);
        if let Ok(cert) = f.verifier.verify(&damaged, NOW) {
            let _ = verify_signature(&cert, b"message", &random);
        }
    }

    #[test]
    fn damaged_anchors_and_crls_never_panic(
        edits in proptest::collection::vec((any::<usize>(), 1u8..=255), 1..6),
    ) {
        let f = fixture();
        let _ = Verifier::new(
            &[(CertKind::Card, flip(f.anchor.clone(), &edits))],
            std::slice::from_ref(&f.crl),
            StalePolicy::Reject,
            NOW,
        );
        let _ = Verifier::new(
            &[(CertKind::Card, f.anchor.clone())],
            &[flip(f.crl.clone(), &edits)],
            StalePolicy::Reject,
            NOW,
        );
    }
}
