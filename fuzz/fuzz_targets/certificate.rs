//! A card's user-authentication certificate as a check receives it (DER), held to a real
//! authority and CRL; the bytes also as a trust anchor (PEM or DER), and a signature check when
//! a damaged certificate still verifies.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use onshi_pki::{Authority, CertKind, StalePolicy, Verifier, verify_signature};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-11-27 00:00 UTC);

fn verifier() -> &'static Verifier {
    static V: OnceLock<Verifier> = OnceLock::new();
    V.get_or_init(|| {
        let ca = Authority::create(CertKind::Card, NOW - Duration::days(400)).unwrap();
        let crl = ca
            .crl(&[], 1, NOW - Duration::hours(1), NOW + Duration::days(1))
            .unwrap();
        Verifier::new(
            &[(CertKind::Card, ca.cert_pem().as_bytes().to_vec())],
            &[crl],
            StalePolicy::Reject,
            NOW,
        )
        .unwrap()
    })
}

fuzz_target!(|bytes: &[u8]| {
    if let Ok(cert) = verifier().verify(bytes, NOW) {
        let _ = verify_signature(&cert, b"message", bytes);
    }
    let _ = Verifier::new(
        &[(CertKind::Smartphone, bytes.to_vec())],
        &[],
        StalePolicy::Reject,
        NOW,
    );
});
