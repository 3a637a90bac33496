//! Real certificates, real signatures, real CRLs: each refusal has its own reason.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use onshi_pki::{
    Authority, CardError, CertError, CertKind, StalePolicy, Verifier, VirtualCard,
    challenge_message, verify_signature,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-11-24 10:00 UTC);

struct World {
    card_ca: Authority,
    phone_ca: Authority,
    valid: onshi_pki::IssuedCert,
    revoked: onshi_pki::IssuedCert,
    expired: onshi_pki::IssuedCert,
    phone: onshi_pki::IssuedCert,
    card_crl: Vec<u8>,
    phone_crl: Vec<u8>,
}

fn world() -> World {
    let card_ca = Authority::create(CertKind::Card, NOW - Duration::days(400)).unwrap();
    let phone_ca = Authority::create(CertKind::Smartphone, NOW - Duration::days(400)).unwrap();
    let valid = card_ca
        .issue(NOW - Duration::days(30), NOW + Duration::days(1000))
        .unwrap();
    let revoked = card_ca
        .issue(NOW - Duration::days(30), NOW + Duration::days(1000))
        .unwrap();
    let expired = card_ca
        .issue(NOW - Duration::days(300), NOW - Duration::days(1))
        .unwrap();
    let phone = phone_ca
        .issue(NOW - Duration::days(10), NOW + Duration::days(700))
        .unwrap();
    let card_crl = card_ca
        .crl(
            &[(revoked.serial.clone(), NOW - Duration::days(2))],
            1,
            NOW - Duration::hours(1),
            NOW + Duration::days(1),
        )
        .unwrap();
    let phone_crl = phone_ca
        .crl(&[], 1, NOW - Duration::hours(1), NOW + Duration::days(1))
        .unwrap();
    World {
        card_ca,
        phone_ca,
        valid,
        revoked,
        expired,
        phone,
        card_crl,
        phone_crl,
    }
}

fn verifier(w: &World, policy: StalePolicy) -> Verifier {
    Verifier::new(
        &[
            (CertKind::Card, w.card_ca.cert_pem().as_bytes().to_vec()),
            (
                CertKind::Smartphone,
                w.phone_ca.cert_pem().as_bytes().to_vec(),
            ),
        ],
        &[w.card_crl.clone(), w.phone_crl.clone()],
        policy,
        NOW,
    )
    .unwrap()
}

#[test]
fn each_certificate_gets_its_own_answer() {
    let w = world();
    let v = verifier(&w, StalePolicy::Reject);
    let ok = v.verify(&w.valid.cert_der, NOW).unwrap();
    assert_eq!(ok.kind, CertKind::Card);
    assert_eq!(ok.fingerprint.len(), 64);
    assert_eq!(
        v.verify(&w.phone.cert_der, NOW).unwrap().kind,
        CertKind::Smartphone
    );
    assert_eq!(v.verify(&w.revoked.cert_der, NOW), Err(CertError::Revoked));
    assert_eq!(v.verify(&w.expired.cert_der, NOW), Err(CertError::Expired));
    assert_eq!(
        v.verify(&w.valid.cert_der, NOW - Duration::days(60)),
        Err(CertError::NotYetValid)
    );

    // Issued by an authority nobody configured: with the same name as a trusted root (as all
    // J-LIS root generations share one name) the issuer signature fails; with a name no anchor
    // has, there is no path at all.
    let stranger = Authority::create(CertKind::Card, NOW - Duration::days(10)).unwrap();
    let foreign = stranger
        .issue(NOW - Duration::days(1), NOW + Duration::days(10))
        .unwrap();
    assert_eq!(
        v.verify(&foreign.cert_der, NOW),
        Err(CertError::BadCertificateSignature)
    );
    let phone_only = Verifier::new(
        &[(CertKind::Smartphone, w.phone_ca.cert_der().to_vec())],
        &[w.card_crl.clone(), w.phone_crl.clone()],
        StalePolicy::Reject,
        NOW,
    )
    .unwrap();
    assert_eq!(
        phone_only.verify(&w.valid.cert_der, NOW),
        Err(CertError::Untrusted)
    );

    // One byte of the signed part changed: the issuer's signature no longer verifies.
    let mut tampered = w.valid.cert_der.clone();
    let n = tampered.len();
    let pos = n - 300; // inside the subject public key, part of the signed TBS
    tampered[pos] ^= 0x01;
    assert_eq!(
        v.verify(&tampered, NOW),
        Err(CertError::BadCertificateSignature)
    );
    assert_eq!(
        v.verify(b"not a certificate", NOW),
        Err(CertError::Malformed)
    );
}

#[test]
fn revocation_needs_a_fresh_crl() {
    let w = world();
    let later = NOW + Duration::days(2); // past both CRLs' nextUpdate
    let strict = verifier(&w, StalePolicy::Reject);
    assert_eq!(
        strict.verify(&w.valid.cert_der, later),
        Err(CertError::CrlStale)
    );
    assert!(strict.crl_status(later).iter().all(|c| c.stale));
    assert!(strict.crl_status(NOW).iter().all(|c| !c.stale));
    assert_eq!(
        strict
            .crl_status(NOW)
            .iter()
            .map(|c| c.revoked)
            .sum::<usize>(),
        1
    );
    let lenient = verifier(&w, StalePolicy::Accept);
    assert!(lenient.verify(&w.valid.cert_der, later).is_ok());
    assert_eq!(
        lenient.verify(&w.revoked.cert_der, later),
        Err(CertError::Revoked)
    );

    // Without the smartphone CRL, smartphone certificates have unknown status; cards still work.
    let no_phone_crl = Verifier::new(
        &[
            (CertKind::Card, w.card_ca.cert_der().to_vec()),
            (CertKind::Smartphone, w.phone_ca.cert_der().to_vec()),
        ],
        std::slice::from_ref(&w.card_crl),
        StalePolicy::Reject,
        NOW,
    )
    .unwrap();
    assert_eq!(
        no_phone_crl.verify(&w.phone.cert_der, NOW),
        Err(CertError::RevocationUnknown)
    );
    assert!(no_phone_crl.verify(&w.valid.cert_der, NOW).is_ok());
}

#[test]
fn signatures_bind_the_challenge_and_the_audience() {
    let w = world();
    let v = verifier(&w, StalePolicy::Reject);
    let card = VirtualCard::new(
        CertKind::Card,
        "valid",
        &w.valid.cert_der,
        &w.valid.key_pkcs8,
        "1234",
    );
    let cert = v.verify(&card.certificate_der().unwrap(), NOW).unwrap();
    let message = challenge_message(b"0123456789abcdef", "1311111111");
    let signature = card.sign(&message).unwrap();
    assert_eq!(signature.len(), 256, "RSA-2048");
    verify_signature(&cert, &message, &signature).unwrap();
    let elsewhere = challenge_message(b"0123456789abcdef", "1322222222");
    assert_eq!(
        verify_signature(&cert, &elsewhere, &signature),
        Err(CertError::BadSignature)
    );
    // Another card's key does not sign for this certificate.
    let other = VirtualCard::new(
        CertKind::Card,
        "x",
        &w.revoked.cert_der,
        &w.revoked.key_pkcs8,
        "1234",
    );
    assert_eq!(
        verify_signature(&cert, &message, &other.sign(&message).unwrap()),
        Err(CertError::BadSignature)
    );
}

#[test]
fn three_wrong_pins_lock_the_card() {
    let w = world();
    let mut card = VirtualCard::new(
        CertKind::Card,
        "valid",
        &w.valid.cert_der,
        &w.valid.key_pkcs8,
        "1234",
    );
    assert_eq!(
        card.verify_pin("0000"),
        Err(CardError::WrongPin { left: 2 })
    );
    card.verify_pin("1234").unwrap();
    assert_eq!(card.pin_tries_left, 3, "a right PIN resets the counter");
    assert_eq!(
        card.verify_pin("0000"),
        Err(CardError::WrongPin { left: 2 })
    );
    assert_eq!(
        card.verify_pin("0000"),
        Err(CardError::WrongPin { left: 1 })
    );
    assert_eq!(card.verify_pin("0000"), Err(CardError::Locked));
    assert_eq!(card.verify_pin("1234"), Err(CardError::Locked));
    assert_eq!(card.sign(b"x"), Err(CardError::Locked));
    let json = serde_json::to_string(&card).unwrap();
    let back: VirtualCard = serde_json::from_str(&json).unwrap();
    assert_eq!(back.pin_tries_left, 0);
}

#[test]
fn authorities_reload_from_pem() {
    let w = world();
    let again =
        Authority::from_pem(CertKind::Card, w.card_ca.cert_pem(), &w.card_ca.key_pem()).unwrap();
    let issued = again
        .issue(NOW - Duration::days(1), NOW + Duration::days(10))
        .unwrap();
    assert!(
        verifier(&w, StalePolicy::Reject)
            .verify(&issued.cert_der, NOW)
            .is_ok()
    );
}

#[test]
fn a_remembered_certificate_is_still_held_to_the_clock() {
    let w = world();
    let v = verifier(&w, StalePolicy::Reject);
    let short = w
        .card_ca
        .issue(NOW - Duration::days(1), NOW + Duration::hours(2))
        .unwrap();
    // Passed once, and again from memory.
    let first = v.verify(&short.cert_der, NOW).unwrap();
    assert_eq!(v.verify(&short.cert_der, NOW).unwrap(), first);
    // Past its end it is refused as expired, not answered from memory.
    assert_eq!(
        v.verify(&short.cert_der, NOW + Duration::hours(3)),
        Err(CertError::Expired)
    );
    // Past the CRL's nextUpdate (one day) a remembered certificate is refused like any other.
    v.verify(&w.valid.cert_der, NOW).unwrap();
    assert_eq!(
        v.verify(&w.valid.cert_der, NOW + Duration::days(2)),
        Err(CertError::CrlStale)
    );
    // A revoked certificate never passes, however often it is tried.
    for _ in 0..2 {
        assert_eq!(v.verify(&w.revoked.cert_der, NOW), Err(CertError::Revoked));
    }
}
