//! Eligibility checks end to end through the router, with a real PKI, on every backend.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use tower::ServiceExt;

use onshi_domain::{
    Clock, FacilityCode, InsurerNumber, LimitInput, MemberInput, MyNumber, MyNumberKey,
    RegistrationChannel,
};
use onshi_pki::{Authority, CertKind, StalePolicy, VirtualCard};
use onshi_server::trust::{Trust, TrustSources};
use onshi_server::{AppState, router};
use onshi_store::testing::TestDb;
use onshi_store::token::{self, TokenKind};
use onshi_store::{Actor, Store};

const NOW: OffsetDateTime = datetime!(2026-11-24 09:00 UTC);

#[derive(Clone)]
struct TestClock(Arc<Mutex<OffsetDateTime>>);

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

fn my_number(seed: u8) -> String {
    let first: [u8; 11] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 0, seed % 10];
    let check = MyNumber::check_digit(&first);
    first
        .iter()
        .chain([check].iter())
        .map(|d| char::from(b'0' + d))
        .collect()
}

async fn member(
    store: &Store,
    key: &MyNumberKey,
    insurer: &str,
    number: &str,
    from: &str,
    until: &str,
    mn: &str,
) {
    let mut m = MemberInput {
        insurer_number: insurer,
        symbol: "10",
        number,
        branch: "00",
        name: "試験 花子",
        name_kana: "シケン ハナコ",
        birth_date: "1990-05-06",
        sex: "2",
        relationship: "1",
        qualified_from: from,
        qualified_until: until,
        copay_ratio: "30",
        my_number: mn,
        loss_reason: if until.is_empty() { "" } else { "03" },
        // P (number 1) holds a 限度額適用認定証 (ウ) for fiscal 2026.
        limit: if number == "1" {
            LimitInput {
                class: "01",
                bracket: "A03",
                valid_from: "2026-04-01",
                valid_until: "2027-03-31",
                ..LimitInput::default()
            }
        } else {
            LimitInput::default()
        },
    }
    .validate()
    .unwrap();
    m.details.person = m.my_number.as_ref().map(|n| key.person_ref(n));
    let insurer = m.key.insurer.clone();
    store
        .create_member(&Actor::Insurer(insurer), &m.key, &m.details, NOW)
        .await
        .unwrap();
}

struct World {
    router: axum::Router,
    clock: Arc<Mutex<OffsetDateTime>>,
    f1: String,
    f2: String,
    cards: std::collections::HashMap<&'static str, VirtualCard>,
    store: Store,
}

/// How long the test server's statements wait for a lock another writer holds (the server's
/// own is 5 s).
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_millis(300);

async fn world(db: &TestDb) -> World {
    let options = onshi_store::StoreOptions {
        lock_wait: Some(LOCK_WAIT),
        ..Default::default()
    };
    let store = db.open_with(options).await.unwrap();
    let key = MyNumberKey::from_bytes(&[4; 32]).unwrap();
    let society = InsurerNumber::from_data_digits("0613801").unwrap();
    store
        .create_insurer(
            &InsurerNumber::parse("01130012").unwrap(),
            "協会けんぽ",
            "h1",
            NOW,
        )
        .await
        .unwrap();
    store
        .create_insurer(&society, "試験健保", "h2", NOW)
        .await
        .unwrap();
    // P has a card and a phone; Q's card is revoked; R's expired; S never registered; T moved.
    member(
        &store,
        &key,
        "01130012",
        "1",
        "2020-04-01",
        "",
        &my_number(1),
    )
    .await;
    member(
        &store,
        &key,
        "01130012",
        "2",
        "2020-04-01",
        "",
        &my_number(2),
    )
    .await;
    member(
        &store,
        &key,
        "01130012",
        "3",
        "2020-04-01",
        "",
        &my_number(3),
    )
    .await;
    member(
        &store,
        &key,
        "01130012",
        "4",
        "2020-04-01",
        "",
        &my_number(4),
    )
    .await;
    member(
        &store,
        &key,
        "01130012",
        "77",
        "2015-04-01",
        "2024-03-31",
        &my_number(5),
    )
    .await;
    member(
        &store,
        &key,
        society.as_str(),
        "5",
        "2024-04-01",
        "",
        &my_number(5),
    )
    .await;

    let card_ca = Authority::create(CertKind::Card, NOW - Duration::days(100)).unwrap();
    let phone_ca = Authority::create(CertKind::Smartphone, NOW - Duration::days(100)).unwrap();
    let mut cards = std::collections::HashMap::new();
    let mut revoked = Vec::new();
    for (label, seed, ca, expired) in [
        ("valid", 1, &card_ca, false),
        ("phone", 1, &phone_ca, false),
        ("revoked", 2, &card_ca, false),
        ("expired", 3, &card_ca, true),
        ("unregistered", 4, &card_ca, false),
        ("moved", 5, &card_ca, false),
    ] {
        let (from, until) = if expired {
            (NOW - Duration::days(90), NOW - Duration::days(1))
        } else {
            (NOW - Duration::days(30), NOW + Duration::days(900))
        };
        let issued = ca.issue(from, until).unwrap();
        let person = key.person_ref(&MyNumber::parse(&my_number(seed)).unwrap());
        let fp = onshi_pki::fingerprint(&issued.cert_der);
        store
            .record_certificate(&fp, ca.kind().as_str(), "s", &person, until, NOW)
            .await
            .unwrap();
        if label != "unregistered" && label != "phone" {
            store
                .register_for_insurance(&person, RegistrationChannel::Portal, None, &fp, NOW)
                .await
                .unwrap();
        }
        if label == "revoked" {
            revoked.push((issued.serial.clone(), NOW - Duration::days(1)));
        }
        cards.insert(
            label,
            VirtualCard::new(
                ca.kind(),
                label,
                &issued.cert_der,
                &issued.key_pkcs8,
                "1234",
            ),
        );
    }
    let sources = TrustSources {
        anchors: vec![
            (CertKind::Card, card_ca.cert_pem().as_bytes().to_vec()),
            (
                CertKind::Smartphone,
                phone_ca.cert_pem().as_bytes().to_vec(),
            ),
        ],
        crls: vec![
            card_ca
                .crl(
                    &revoked,
                    1,
                    NOW - Duration::hours(1),
                    NOW + Duration::days(1),
                )
                .unwrap(),
            phone_ca
                .crl(&[], 1, NOW - Duration::hours(1), NOW + Duration::days(1))
                .unwrap(),
        ],
    };
    let (f1, h1) = token::mint(TokenKind::Facility).unwrap();
    let (f2, h2) = token::mint(TokenKind::Facility).unwrap();
    store
        .create_facility(
            &FacilityCode::parse("1311111111").unwrap(),
            "試験クリニック",
            &h1,
            NOW,
        )
        .await
        .unwrap();
    store
        .create_facility(
            &FacilityCode::parse("1341111111").unwrap(),
            "試験薬局",
            &h2,
            NOW,
        )
        .await
        .unwrap();
    let clock = Arc::new(Mutex::new(NOW));
    let state = AppState::new(
        store.clone(),
        Arc::new(TestClock(Arc::clone(&clock))),
        key,
        Arc::new(Trust::new(&sources, StalePolicy::Reject, NOW).unwrap()),
    );
    let (router, _) = router(state);
    World {
        router,
        clock,
        f1,
        f2,
        cards,
        store,
    }
}

impl World {
    async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Value,
    ) -> (StatusCode, Value) {
        let (status, _, body) = self.call_with_headers(method, uri, token, body).await;
        (status, body)
    }

    async fn call_with_headers(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Value,
    ) -> (StatusCode, header::HeaderMap, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let res = self
            .router
            .clone()
            .oneshot(req.body(Body::from(body.to_string())).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 64 << 20)
            .await
            .unwrap();
        (
            status,
            headers,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// A challenge from `token`'s facility (or the portal), signed by `card`.
    async fn proof(&self, token: Option<&str>, card: &str) -> Value {
        let uri = if token.is_some() {
            "/v1/challenges"
        } else {
            "/v1/portal/challenges"
        };
        let (s, c) = self.call(Method::POST, uri, token, json!({})).await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        let message: Vec<u8> = (0..c["message"].as_str().unwrap().len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&c["message"].as_str().unwrap()[i..i + 2], 16).unwrap())
            .collect();
        let card = &self.cards[card];
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        json!({
            "challenge_id": c["challenge_id"],
            "certificate": b64.encode(card.certificate_der().unwrap()),
            "signature": b64.encode(card.sign(&message).unwrap()),
        })
    }

    async fn check(&self, token: &str, proof: &Value, date: &str) -> (StatusCode, Value) {
        let mut body = proof.clone();
        body["consultation_date"] = json!(date);
        body["consent"] = json!(["medication", "checkup"]);
        self.call(Method::POST, "/v1/eligibility/card", Some(token), body)
            .await
    }
}

/// While another writer holds the registry (a long import), a check is answered 503 `busy` with
/// `Retry-After` once the server's lock wait runs out, instead of being held until the writer
/// commits; nothing of it was done, so the same card proof answers once the registry is free.
#[tokio::test]
async fn a_check_while_the_registry_is_held_is_answered_busy_and_can_be_retried() {
    for db in TestDb::all().await.unwrap() {
        let w = world(&db).await;
        let f1 = Some(w.f1.as_str());
        let by_number = json!({"insurer_number": "01130012", "symbol": "10", "number": "1",
                               "branch": "00", "consultation_date": "2026-11-24"});
        let mut by_card = w.proof(f1, "valid").await;
        by_card["consultation_date"] = json!("2026-11-24");

        let checks = [
            ("/v1/eligibility/number", by_number),
            ("/v1/eligibility/card", by_card),
        ];

        let held = db.hold_registry().await.unwrap();
        for (uri, body) in &checks {
            let started = std::time::Instant::now();
            let (s, headers, p) = w
                .call_with_headers(Method::POST, uri, f1, body.clone())
                .await;
            assert_eq!(
                s,
                StatusCode::SERVICE_UNAVAILABLE,
                "{} {uri}: {p}",
                db.backend
            );
            assert_eq!(p["type"], "urn:onshi:problem:busy", "{p}");
            assert_eq!(p["status"], 503);
            assert!(
                p["detail"].as_str().unwrap().contains("nothing was done"),
                "{p}"
            );
            assert_eq!(headers[header::RETRY_AFTER], "5");
            assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
            assert!(
                started.elapsed() >= LOCK_WAIT,
                "it waited for the lock first"
            );
        }
        held.release().await.unwrap();

        // The same requests now answer: the card's challenge was not used up by the refusal.
        for (uri, body) in checks {
            let (s, r) = w.call(Method::POST, uri, f1, body).await;
            assert_eq!(
                (s, r["validity_code"].as_u64()),
                (StatusCode::OK, Some(1)),
                "{uri}: {r}"
            );
        }
        assert!(w.store.verify_audit().await.unwrap().is_ok());
        w.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn card_and_number_checks_answer_like_the_real_interface() {
    for db in TestDb::all().await.unwrap() {
        let w = world(&db).await;
        let f1 = Some(w.f1.as_str());

        // Valid card: 有効, with the member's data and the consents just given.
        let proof = w.proof(f1, "valid").await;
        let (s, r) = w.check(&w.f1, &proof, "2026-11-24").await;
        assert_eq!(s, StatusCode::OK, "{r} ({})", db.backend);
        assert_eq!(
            (r["validity_code"].as_u64(), r["validity_label"].as_str()),
            (Some(1), Some("有効"))
        );
        assert_eq!(r["qualifications"][0]["number"], "1");
        assert_eq!(r["qualifications"][0]["name"], "試験 花子");
        assert_eq!(r["qualifications"][0]["copay_ratio"], "030");
        assert_eq!(r["certificate_kind"], "card");
        assert_eq!(r["consents"].as_array().unwrap().len(), 2);
        assert_eq!(r["consents"][0]["expires_at"], "20261125090000");

        // The same signed challenge again: a replay.
        let (s, p) = w.check(&w.f1, &proof, "2026-11-24").await;
        assert_eq!(
            (s, p["type"].as_str()),
            (
                StatusCode::CONFLICT,
                Some("urn:onshi:problem:challenge-replayed")
            )
        );

        // The smartphone of the same person: 有効, same member.
        let (s, r) = w
            .check(&w.f1, &w.proof(f1, "phone").await, "2026-11-24")
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert_eq!(
            (r["validity_code"].as_u64(), r["certificate_kind"].as_str()),
            (Some(1), Some("smartphone"))
        );
        assert_eq!(r["qualifications"][0]["number"], "1");

        for (card, status, kind) in [
            ("revoked", StatusCode::FORBIDDEN, "certificate-revoked"),
            ("expired", StatusCode::FORBIDDEN, "certificate-expired"),
            ("unregistered", StatusCode::FORBIDDEN, "not-registered"),
        ] {
            let (s, p) = w.check(&w.f1, &w.proof(f1, card).await, "2026-11-24").await;
            assert_eq!(
                (s, p["type"].as_str().unwrap()),
                (status, &*format!("urn:onshi:problem:{kind}")),
                "{card}: {p}"
            );
        }

        // A person who changed insurer: the new qualification by card ...
        let (_, r) = w
            .check(&w.f1, &w.proof(f1, "moved").await, "2026-11-24")
            .await;
        assert_eq!(r["validity_code"], 1, "{r}");
        assert_eq!(r["qualifications"][0]["insurer_number"], "06138010");
        // ... and 3 (無効・新しい資格あり) with the new one, by the old card's number.
        let old_card = json!({"insurer_number": "01130012", "symbol": "10", "number": "77", "branch": "00", "consultation_date": "20261124"});
        let (s, r) = w
            .call(Method::POST, "/v1/eligibility/number", f1, old_card.clone())
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert_eq!(
            (r["validity_code"].as_u64(), r["validity_label"].as_str()),
            (Some(3), Some("無効（新しい資格あり）"))
        );
        assert_eq!(r["new_qualification"]["insurer_number"], "06138010");
        assert_eq!(r["new_qualification"]["validity_code"], 1);
        let mut on_old_date = old_card.clone();
        on_old_date["consultation_date"] = json!("2024-03-31");
        let (_, r) = w
            .call(Method::POST, "/v1/eligibility/number", f1, on_old_date)
            .await;
        assert_eq!(r["validity_code"], 1);
        let unknown =
            json!({"insurer_number": "01130012", "symbol": "10", "number": "999", "branch": "00"});
        let (_, r) = w
            .call(Method::POST, "/v1/eligibility/number", f1, unknown)
            .await;
        assert_eq!(
            (r["validity_code"].as_u64(), r["validity_label"].as_str()),
            (Some(4), Some("該当資格なし"))
        );
        let wrong_birth = json!({"insurer_number": "01130012", "symbol": "１０", "number": "1", "branch": "0", "birth_date": "19900507"});
        let (_, r) = w
            .call(Method::POST, "/v1/eligibility/number", f1, wrong_birth)
            .await;
        assert_eq!(r["validity_code"], 4);
        let bad = json!({"insurer_number": "01130013", "number": "1"});
        let (s, p) = w
            .call(Method::POST, "/v1/eligibility/number", f1, bad)
            .await;
        assert_eq!(
            (s, p["errors"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("insurer_number"))
        );

        // The audit chain holds after all of it.
        assert!(w.store.verify_audit().await.unwrap().is_ok());
        db.cleanup().await;
    }
}

#[tokio::test]
async fn limit_certificates_are_shown_only_with_consent_and_while_in_force() {
    for db in TestDb::all().await.unwrap() {
        let w = world(&db).await;
        let f1 = Some(w.f1.as_str());
        let limit = |r: &Value| r["qualifications"][0]["limit_certificate"].clone();

        // At the reader without the limit consent: qualification, no certificate.
        let mut body = w.proof(f1, "valid").await;
        body["consent"] = json!(["medication"]);
        let (s, r) = w.call(Method::POST, "/v1/eligibility/card", f1, body).await;
        assert_eq!(s, StatusCode::OK, "{r} ({})", db.backend);
        assert_eq!(r["validity_code"], 1);
        assert!(limit(&r).is_null(), "{r}");
        assert!(r.get("limit_consent_at").is_none());

        // With it: the certificate, and when the consent was given.
        let mut body = w.proof(f1, "valid").await;
        body["consent"] = json!(["limit"]);
        let (_, r) = w.call(Method::POST, "/v1/eligibility/card", f1, body).await;
        assert_eq!(limit(&r)["class_code"], "01", "{r}");
        assert_eq!(limit(&r)["bracket_code"], "A03");
        assert_eq!(limit(&r)["bracket_label"], "ウ");
        assert_eq!(limit(&r)["valid_from"], "20260401");
        assert_eq!(limit(&r)["valid_until"], "20270331");
        assert_eq!(r["limit_consent_at"], "20261124090000");

        // Another facility has no consent of P's: nothing.
        let f2 = Some(w.f2.as_str());
        let mut body = w.proof(f2, "valid").await;
        body["consent"] = json!([]);
        let (_, r) = w.call(Method::POST, "/v1/eligibility/card", f2, body).await;
        assert_eq!(r["validity_code"], 1);
        assert!(limit(&r).is_null(), "consent is per facility: {r}");

        // By number, the request's consent flag decides.
        let card = json!({"insurer_number": "01130012", "symbol": "10", "number": "1", "branch": "00", "consultation_date": "2026-11-24"});
        let (_, r) = w
            .call(Method::POST, "/v1/eligibility/number", f1, card.clone())
            .await;
        assert!(limit(&r).is_null(), "{r}");
        let mut consented = card.clone();
        consented["limit_consent"] = json!(true);
        let (_, r) = w
            .call(
                Method::POST,
                "/v1/eligibility/number",
                f1,
                consented.clone(),
            )
            .await;
        assert_eq!(limit(&r)["bracket_code"], "A03", "{r}");
        assert_eq!(r["limit_consent_at"], "20261124090000");

        // Before the certificate's start the consent is echoed but there is nothing to show.
        consented["consultation_date"] = json!("2026-03-31");
        let (_, r) = w
            .call(Method::POST, "/v1/eligibility/number", f1, consented)
            .await;
        assert_eq!(r["validity_code"], 1);
        assert!(limit(&r).is_null(), "{r}");
        assert_eq!(r["limit_consent_at"], "20261124090000");

        // A member without a certificate: consent, nothing to show.
        let other = json!({"insurer_number": "01130012", "symbol": "10", "number": "2", "branch": "00", "limit_consent": true});
        let (_, r) = w
            .call(Method::POST, "/v1/eligibility/number", f1, other)
            .await;
        assert_eq!(r["validity_code"], 1);
        assert!(limit(&r).is_null(), "{r}");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn bad_proofs_are_refused_each_with_its_own_reason() {
    for db in TestDb::all().await.unwrap() {
        let w = world(&db).await;
        let (f1, f2) = (Some(w.f1.as_str()), Some(w.f2.as_str()));

        // A challenge issued to facility 1, answered at facility 2.
        let proof = w.proof(f1, "valid").await;
        let (s, p) = w.check(&w.f2, &proof, "2026-11-24").await;
        assert_eq!(
            (s, p["type"].as_str()),
            (
                StatusCode::FORBIDDEN,
                Some("urn:onshi:problem:challenge-foreign")
            ),
            "{}",
            db.backend
        );

        // A certificate with one byte changed.
        let mut tampered = w.proof(f1, "valid").await;
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut der = b64
            .decode(tampered["certificate"].as_str().unwrap())
            .unwrap();
        let n = der.len();
        der[n - 300] ^= 1;
        tampered["certificate"] = json!(b64.encode(der));
        let (s, p) = w.check(&w.f1, &tampered, "2026-11-24").await;
        assert_eq!(
            (s, p["type"].as_str()),
            (
                StatusCode::FORBIDDEN,
                Some("urn:onshi:problem:certificate-counterfeit")
            )
        );

        // Another card's signature with this card's certificate.
        let mut swapped = w.proof(f1, "valid").await;
        let other = w.proof(f1, "moved").await;
        swapped["signature"] = other["signature"].clone();
        let (s, p) = w.check(&w.f1, &swapped, "2026-11-24").await;
        assert_eq!(
            (s, p["type"].as_str()),
            (
                StatusCode::UNAUTHORIZED,
                Some("urn:onshi:problem:signature-invalid")
            )
        );
        // A refused signature does not use the challenge up: the right one still works.
        let (s, _) = w.check(&w.f1, &other, "2026-11-24").await;
        assert_eq!(s, StatusCode::OK);

        // A challenge id with one character changed (say, to move its audience or expiry) is
        // not one the server issued, whatever the card signed.
        let mut altered = w.proof(f1, "valid").await;
        let id = altered["challenge_id"].as_str().unwrap().to_owned();
        let (head, rest) = id.split_at(70);
        let swap = if rest.starts_with('A') { "B" } else { "A" };
        altered["challenge_id"] = json!(format!("{head}{swap}{}", &rest[1..]));
        let (s, p) = w.check(&w.f1, &altered, "2026-11-24").await;
        assert_eq!(
            (s, p["type"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("urn:onshi:problem:challenge-unknown")
            )
        );

        // A challenge answered after its 120 seconds.
        let late = w.proof(f1, "valid").await;
        *w.clock.lock().unwrap() = NOW + Duration::seconds(121);
        let (s, p) = w.check(&w.f1, &late, "2026-11-24").await;
        assert_eq!(
            (s, p["type"].as_str()),
            (
                StatusCode::GONE,
                Some("urn:onshi:problem:challenge-expired")
            )
        );
        let (s, p) = w
            .call(
                Method::POST,
                "/v1/eligibility/card",
                f2,
                json!({"challenge_id": "x", "certificate": "", "signature": ""}),
            )
            .await;
        assert_eq!(
            (s, p["type"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("urn:onshi:problem:challenge-unknown")
            )
        );
        let (s, p) = w
            .call(
                Method::POST,
                "/v1/eligibility/card",
                f2,
                json!({"certificate": ""}),
            )
            .await;
        assert_eq!(
            (s, p["errors"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("challenge_id"))
        );
        let (s, _) = w
            .call(Method::POST, "/v1/eligibility/card", None, json!({}))
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn registration_and_the_persons_own_access_history() {
    for db in TestDb::all().await.unwrap() {
        let w = world(&db).await;
        let (f1, f2) = (Some(w.f1.as_str()), Some(w.f2.as_str()));
        // The unregistered card registers at a pharmacy's reader (facility 2 is 調剤).
        let proof = w.proof(f2, "unregistered").await;
        let (s, r) = w.call(Method::POST, "/v1/registrations", f2, proof).await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert_eq!(
            (r["registered_now"].as_bool(), r["channel"].as_str()),
            (Some(true), Some("pharmacy"))
        );
        let (s, r) = w
            .check(&w.f1, &w.proof(f1, "unregistered").await, "2026-11-24")
            .await;
        assert_eq!((s, r["validity_code"].as_u64()), (StatusCode::OK, Some(1)));
        // Registering again from the portal changes nothing.
        let (_, r) = w
            .call(
                Method::POST,
                "/v1/portal/registrations",
                None,
                w.proof(None, "unregistered").await,
            )
            .await;
        assert_eq!(r["registered_now"], false);
        let counts = w.store.registration_counts().await.unwrap();
        assert_eq!(
            counts,
            [
                (RegistrationChannel::Pharmacy, 1),
                (RegistrationChannel::Portal, 4)
            ],
            "{}",
            db.backend
        );

        // The person sees that facility 1 checked them; another person does not see it.
        let (s, log) = w
            .call(
                Method::POST,
                "/v1/portal/access-log",
                None,
                w.proof(None, "unregistered").await,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{log}");
        let seen: Vec<(String, String)> = log
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["actor"].as_str().unwrap().to_owned(),
                    e["action"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert!(
            seen.contains(&("1311111111".into(), "check_card".into())),
            "{seen:?}"
        );
        assert!(
            seen.contains(&("1341111111".into(), "register".into())),
            "{seen:?}"
        );
        let (_, other) = w
            .call(
                Method::POST,
                "/v1/portal/access-log",
                None,
                w.proof(None, "moved").await,
            )
            .await;
        assert!(
            other
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["actor"] != "1341111111"),
            "{other}"
        );
        // A facility challenge cannot be used at the portal.
        let (s, p) = w
            .call(
                Method::POST,
                "/v1/portal/access-log",
                None,
                w.proof(f1, "moved").await,
            )
            .await;
        assert_eq!(
            (s, p["type"].as_str()),
            (
                StatusCode::FORBIDDEN,
                Some("urn:onshi:problem:challenge-foreign")
            )
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_bulk_lookup_answers_every_row_like_a_single_lookup() {
    for db in TestDb::all().await.unwrap() {
        let w = world(&db).await;
        let f1 = Some(w.f1.as_str());
        let keys = [
            ("01130012", "10", "1", "00"),
            ("01130012", "10", "77", "00"),
            ("06138010", "10", "5", "00"),
            ("01130012", "10", "999", "00"),
            ("01130013", "10", "1", "00"),
        ];
        let rows = 10_000;
        let items: Vec<Value> = (0..rows)
            .map(|i| {
                let (ins, sym, num, br) = keys[i % keys.len()];
                json!({"insurer_number": ins, "symbol": sym, "number": num, "branch": br})
            })
            .collect();
        let (s, receipt) = w
            .call(
                Method::POST,
                "/v1/bulk-checks",
                f1,
                json!({"consultation_date": "2026-11-24", "items": items}),
            )
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{receipt}");
        let number = receipt["reception_number"].as_str().unwrap().to_owned();
        // Another facility cannot see it.
        let (s, _) = w
            .call(
                Method::GET,
                &format!("/v1/bulk-checks/{number}"),
                Some(&w.f2),
                Value::Null,
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let status = loop {
            let (s, st) = w
                .call(
                    Method::GET,
                    &format!("/v1/bulk-checks/{number}"),
                    f1,
                    Value::Null,
                )
                .await;
            assert_eq!(s, StatusCode::OK);
            assert!(st["processed"].as_i64().unwrap() <= rows as i64);
            if st["finished"] == true {
                break st;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        };
        let results = status["results"].as_array().unwrap();
        assert_eq!(results.len(), rows, "{}", db.backend);
        let mut singles = Vec::new();
        for (ins, sym, num, br) in keys {
            let body = json!({"insurer_number": ins, "symbol": sym, "number": num, "branch": br, "consultation_date": "2026-11-24"});
            singles.push(
                w.call(Method::POST, "/v1/eligibility/number", f1, body)
                    .await,
            );
        }
        for (i, row) in results.iter().enumerate() {
            let (status, single) = &singles[i % keys.len()];
            if *status == StatusCode::OK {
                assert_eq!(row["result"], *single, "row {i} on {}", db.backend);
            } else {
                assert_eq!(
                    row["error"]["errors"][0]["field"], single["errors"][0]["field"],
                    "row {i}"
                );
            }
            assert_eq!(row["request"]["number"], keys[i % keys.len()].2);
        }
        assert_eq!(results[1]["result"]["validity_code"], 3);
        assert_eq!(results[3]["result"]["validity_code"], 4);
        assert_eq!(results[4]["error"]["errors"][0]["field"], "insurer_number");
        db.cleanup().await;
    }
}

fn fhir_request(insurer: &str, symbol: &str, number: &str, branch: &str, date: &str) -> Value {
    json!({
        "resourceType": "CoverageEligibilityRequest",
        "id": "req-1",
        "status": "active",
        "purpose": ["validation"],
        "patient": {"display": "patient at reception"},
        "servicedDate": date,
        "created": "2026-11-24T09:00:00Z",
        "insurer": {"identifier": {"system": "urn:oid:1.2.392.100495.20.3.61", "value": insurer}},
        "contained": [{
            "resourceType": "Coverage", "id": "card", "status": "active",
            "beneficiary": {"display": "patient"},
            "payor": [{"identifier": {"system": "urn:oid:1.2.392.100495.20.3.61", "value": insurer}}],
            "subscriberId": number, "dependent": branch,
            "class": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": "group"}]}, "value": symbol}],
        }],
        "insurance": [{"coverage": {"reference": "#card"}}],
    })
}

#[tokio::test]
async fn fhir_responses_are_valid_r4() {
    let mut schema: Value =
        serde_json::from_str(include_str!("fixtures/fhir-r4.schema.json")).unwrap();
    // Validate against CoverageEligibilityResponse itself rather than the root's oneOf of every resource.
    schema["oneOf"] = json!([{"$ref": "#/definitions/CoverageEligibilityResponse"}]);
    // Two definitions that the redistributed file's extra (non-HL7) resource types refer to.
    schema["definitions"]["Resource"] = json!({"$ref": "#/definitions/ResourceList"});
    schema["definitions"]["integer64"] =
        json!({"type": "string", "pattern": "^[0]|[-+]?[1-9][0-9]*$"});
    let validator = jsonschema::draft6::new(&schema).unwrap();
    let request_schema = {
        let mut s = schema.clone();
        s["oneOf"] = json!([{"$ref": "#/definitions/CoverageEligibilityRequest"}]);
        jsonschema::draft6::new(&s).unwrap()
    };
    for db in TestDb::all().await.unwrap() {
        let w = world(&db).await;
        let f1 = Some(w.f1.as_str());
        let cases = [
            (
                fhir_request("01130012", "10", "1", "00", "2026-11-24"),
                "1",
                true,
            ),
            (
                fhir_request("01130012", "10", "77", "00", "2026-11-24"),
                "3",
                false,
            ),
            (
                fhir_request("01130012", "10", "999", "00", "2026-11-24"),
                "4",
                false,
            ),
        ];
        for (request, code, inforce) in cases {
            assert!(
                request_schema.is_valid(&request),
                "the test's own request is valid R4"
            );
            let (s, r) = w
                .call(
                    Method::POST,
                    "/fhir/CoverageEligibilityRequest",
                    f1,
                    request,
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{r}");
            let errors: Vec<String> = validator
                .iter_errors(&r)
                .map(|e| format!("{e} at {}", e.instance_path()))
                .collect();
            assert!(
                errors.is_empty(),
                "{} on {}: {errors:?}\n{r}",
                code,
                db.backend
            );
            assert_eq!(r["extension"][0]["valueCode"], code);
            // The validator does reject what R4 forbids.
            let mut broken = r.clone();
            broken["servicedDate"] = json!("24/11/2026");
            assert!(!validator.is_valid(&broken), "a date must be a FHIR date");
            let mut broken = r.clone();
            broken["purpose"] = json!("validation");
            assert!(!validator.is_valid(&broken), "purpose is an array");
            let mut broken = r.clone();
            broken["contained"][0]["birthDate"] = json!("1990/05/06");
            assert!(
                !validator.is_valid(&broken),
                "contained resources are validated too"
            );
            if code != "4" {
                assert_eq!(r["insurance"][0]["inforce"], inforce);
                assert_eq!(r["contained"][1]["resourceType"], "Coverage");
                assert_eq!(r["contained"][0]["name"][0]["text"], "試験 花子");
            } else {
                assert!(r.get("insurance").is_none());
            }
        }
        // Code 3 carries the newer coverage, in force.
        let (_, r) = w
            .call(
                Method::POST,
                "/fhir/CoverageEligibilityRequest",
                f1,
                fhir_request("01130012", "10", "77", "00", "2026-11-24"),
            )
            .await;
        assert_eq!(r["insurance"][1]["inforce"], true);
        assert_eq!(
            r["contained"][2]["payor"][0]["identifier"]["value"],
            "06138010"
        );
        // By the reference of a card check made here; another facility cannot use it.
        let (_, checked) = w
            .check(&w.f1, &w.proof(f1, "valid").await, "2026-11-24")
            .await;
        let reference = checked["check_reference"].as_str().unwrap().to_owned();
        let mut by_ref = fhir_request("01130012", "10", "1", "00", "2026-11-24");
        by_ref.as_object_mut().unwrap().remove("contained");
        by_ref["insurance"] = json!([{"coverage": {"identifier": {"system": "urn:onshi:card-check", "value": reference}}}]);
        assert!(request_schema.is_valid(&by_ref));
        let (s, r) = w
            .call(
                Method::POST,
                "/fhir/CoverageEligibilityRequest",
                f1,
                by_ref.clone(),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert!(validator.is_valid(&r));
        assert_eq!(
            (
                r["extension"][0]["valueCode"].as_str(),
                r["insurance"][0]["inforce"].as_bool()
            ),
            (Some("1"), Some(true))
        );
        let (s, o) = w
            .call(
                Method::POST,
                "/fhir/CoverageEligibilityRequest",
                Some(&w.f2),
                by_ref,
            )
            .await;
        assert_eq!(
            (s, o["resourceType"].as_str()),
            (StatusCode::NOT_FOUND, Some("OperationOutcome"))
        );
        // Bad requests are OperationOutcomes naming the element.
        let mut bad = fhir_request("01130012", "10", "1", "00", "2026-11-24");
        bad["purpose"] = json!(["benefits"]);
        let (s, o) = w
            .call(Method::POST, "/fhir/CoverageEligibilityRequest", f1, bad)
            .await;
        assert_eq!(
            (s, o["resourceType"].as_str()),
            (StatusCode::BAD_REQUEST, Some("OperationOutcome"))
        );
        assert_eq!(
            o["issue"][0]["expression"][0],
            "CoverageEligibilityRequest.purpose"
        );
        let (s, o) = w
            .call(
                Method::POST,
                "/fhir/CoverageEligibilityRequest",
                f1,
                fhir_request("01130013", "10", "1", "00", "2026-11-24"),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            o["issue"][0]["expression"][0],
            "CoverageEligibilityRequest.insurer_number"
        );
        db.cleanup().await;
    }
}
