//! A certificate revocation list (PEM or DER) as the server loads one, beside a real anchor.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use onshi_pki::{Authority, CertKind, StalePolicy, Verifier};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-11-27 00:00 UTC);

fn anchor() -> &'static Vec<u8> {
    static A: OnceLock<Vec<u8>> = OnceLock::new();
    A.get_or_init(|| {
        Authority::create(CertKind::Card, NOW - Duration::days(400))
            .unwrap()
            .cert_pem()
            .as_bytes()
            .to_vec()
    })
}

fuzz_target!(|bytes: &[u8]| {
    for policy in [StalePolicy::Reject, StalePolicy::Accept] {
        let _ = Verifier::new(
            &[(CertKind::Card, anchor().clone())],
            &[bytes.to_vec()],
            policy,
            NOW,
        );
    }
});
