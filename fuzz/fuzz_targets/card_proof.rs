//! A card check's body as the server reads it: the JSON, the proof's base64 certificate and
//! signature, the sealed challenge id opened with the deployment's key, the certificate held to
//! the authority, and the signature over the challenge message.
#![no_main]

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use onshi_api::CardCheckRequest;
use onshi_domain::{ChallengeKey, MyNumberKey};
use onshi_pki::{Authority, CertKind, StalePolicy, Verifier, challenge_message, verify_signature};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-11-27 00:00 UTC);

fn fixture() -> &'static (Verifier, ChallengeKey) {
    static F: OnceLock<(Verifier, ChallengeKey)> = OnceLock::new();
    F.get_or_init(|| {
        let ca = Authority::create(CertKind::Card, NOW - Duration::days(400)).unwrap();
        let crl = ca
            .crl(&[], 1, NOW - Duration::hours(1), NOW + Duration::days(1))
            .unwrap();
        let verifier = Verifier::new(
            &[(CertKind::Card, ca.cert_pem().as_bytes().to_vec())],
            &[crl],
            StalePolicy::Reject,
            NOW,
        )
        .unwrap();
        let key = ChallengeKey::derive(&MyNumberKey::from_bytes(&[7; 32]).unwrap());
        (verifier, key)
    })
}

fuzz_target!(|bytes: &[u8]| {
    let Ok(req) = serde_json::from_slice::<CardCheckRequest>(bytes) else {
        return;
    };
    let proof = req.proof();
    let (verifier, key) = fixture();
    let _ = key.open(&proof.challenge_id);
    let (Ok(cert), Ok(signature)) = (
        STANDARD.decode(proof.certificate.trim()),
        STANDARD.decode(proof.signature.trim()),
    ) else {
        return;
    };
    if let Ok(cert) = verifier.verify(&cert, NOW) {
        let message = challenge_message(proof.challenge_id.as_bytes(), "1311111111");
        let _ = verify_signature(&cert, &message, &signature);
    }
});
