//! The test world of the eligibility tests: insurers, members, a real PKI with cards, two
//! facilities and the router over them, made by a small builder. [`World::standard`] is the
//! cast most tests use; a test that needs another builds its own.

#![allow(dead_code)] // each subject uses some of these

pub use std::sync::{Arc, Mutex};

pub use axum::body::Body;
pub use axum::http::{Method, Request, StatusCode, header};
pub use serde_json::{Value, json};
pub use time::macros::datetime;
pub use time::{Duration, OffsetDateTime};
pub use tower::ServiceExt;

pub use onshi_domain::{
    CardInput, Clock, FacilityCode, InsurerNumber, LimitInput, MemberInput, MyNumber, MyNumberKey,
    RegistrationChannel,
};
pub use onshi_pki::{Authority, CertKind, StalePolicy, VirtualCard};
pub use onshi_server::eligibility::limits::RateLimitConfig;
pub use onshi_server::trust::{Trust, TrustSources};
pub use onshi_server::{AppState, router};
pub use onshi_store::testing::TestDb;
pub use onshi_store::token::{self, TokenKind};
pub use onshi_store::{Actor, Store};

pub const NOW: OffsetDateTime = datetime!(2026-11-24 09:00 UTC);

/// How long the busy test's server waits for a lock another writer holds (the server's own is
/// 5 s), so that the test does not wait long for its 503.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_millis(300);
/// What every other world waits: the server's own, so a loaded test machine is not mistaken for
/// a held registry.
pub const SERVER_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Clone)]
pub struct TestClock(Arc<Mutex<OffsetDateTime>>);

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

/// The My Number of person `seed` (valid check digit).
pub fn my_number(seed: u8) -> String {
    let first: [u8; 11] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 0, seed % 10];
    let check = MyNumber::check_digit(&first);
    first
        .iter()
        .chain([check].iter())
        .map(|d| char::from(b'0' + d))
        .collect()
}

/// The society (健保組合) insurer of the standard world.
pub fn society() -> InsurerNumber {
    InsurerNumber::from_data_digits("0613801").unwrap()
}

pub struct World {
    pub router: axum::Router,
    pub clock: Arc<Mutex<OffsetDateTime>>,
    /// The clinic's token (1311111111).
    pub f1: String,
    /// The pharmacy's token (1341111111).
    pub f2: String,
    /// 協会けんぽ's (01130012) insurer token.
    pub insurer: String,
    /// The insurer token of [`society`].
    pub society: String,
    pub cards: std::collections::HashMap<&'static str, VirtualCard>,
    pub store: Store,
    /// The server's state (for what its background tasks would do).
    pub state: onshi_server::AppState,
}

/// A member to register: card number, qualification period, and the person (a seed of
/// [`my_number`]).
struct MemberSpec {
    insurer: String,
    number: &'static str,
    from: &'static str,
    until: &'static str,
    person: u8,
    /// 事業所コード ("" for none).
    employer: &'static str,
}

/// A card (or smartphone) to issue to person `person`.
struct CardSpec {
    label: &'static str,
    person: u8,
    kind: CertKind,
    expired: bool,
    revoked: bool,
    registered: bool,
}

/// Builds a [`World`]: `World::builder().with_member(..).with_card(..).build(&db)`.
#[derive(Default)]
pub struct WorldBuilder {
    members: Vec<MemberSpec>,
    cards: Vec<CardSpec>,
    lock_wait: Option<std::time::Duration>,
    audit_checkpoints: Option<std::path::PathBuf>,
    rate_limits: Option<RateLimitConfig>,
    archive_limit: Option<usize>,
}

impl WorldBuilder {
    /// The largest checkup archive the server takes (1 GiB unless set).
    pub fn with_archive_limit(mut self, bytes: usize) -> Self {
        self.archive_limit = Some(bytes);
        self
    }

    /// The server's rate limits ([`RateLimitConfig::default`] unless set).
    pub fn with_rate_limits(mut self, config: RateLimitConfig) -> Self {
        self.rate_limits = Some(config);
        self
    }

    /// Serve the signed audit checkpoints kept in `dir`.
    pub fn with_audit_checkpoints(mut self, dir: &std::path::Path) -> Self {
        self.audit_checkpoints = Some(dir.to_owned());
        self
    }

    /// How long the store waits for a lock (and a pooled connection) before it answers busy;
    /// [`SERVER_LOCK_WAIT`] unless set.
    pub fn with_lock_wait(mut self, wait: std::time::Duration) -> Self {
        self.lock_wait = Some(wait);
        self
    }

    /// A member of `insurer`, card 記号 10 番号 `number` 枝番 00, qualified from `from` until
    /// `until` ("" for open-ended), who is person `person`. Number "1" holds a 限度額適用認定証
    /// (ウ) for fiscal 2026.
    pub fn with_member(
        mut self,
        insurer: &str,
        number: &'static str,
        from: &'static str,
        until: &'static str,
        person: u8,
    ) -> Self {
        self.members.push(MemberSpec {
            insurer: insurer.to_owned(),
            number,
            from,
            until,
            person,
            employer: "",
        });
        self
    }

    /// The last member added works for the employer with code `code`.
    pub fn employed(mut self, code: &'static str) -> Self {
        if let Some(m) = self.members.last_mut() {
            m.employer = code;
        }
        self
    }

    fn card(mut self, label: &'static str, person: u8, kind: CertKind) -> Self {
        self.cards.push(CardSpec {
            label,
            person,
            kind,
            expired: false,
            revoked: false,
            registered: kind == CertKind::Card,
        });
        self
    }

    fn last(mut self, change: impl FnOnce(&mut CardSpec)) -> Self {
        if let Some(c) = self.cards.last_mut() {
            change(c);
        }
        self
    }

    /// A My Number card of person `person`, registered for insurance use.
    pub fn with_card(self, label: &'static str, person: u8) -> Self {
        self.card(label, person, CertKind::Card)
    }

    /// A smartphone certificate of person `person` (registration is the person's, by card).
    pub fn with_phone(self, label: &'static str, person: u8) -> Self {
        self.card(label, person, CertKind::Smartphone)
    }

    /// A registered card whose certificate is on the CRL.
    pub fn with_revoked_card(self, label: &'static str, person: u8) -> Self {
        self.card(label, person, CertKind::Card)
            .last(|c| c.revoked = true)
    }

    /// A registered card whose certificate expired yesterday.
    pub fn with_expired_card(self, label: &'static str, person: u8) -> Self {
        self.card(label, person, CertKind::Card)
            .last(|c| c.expired = true)
    }

    /// A card never registered for insurance use (利用申込).
    pub fn with_unregistered_card(self, label: &'static str, person: u8) -> Self {
        self.card(label, person, CertKind::Card)
            .last(|c| c.registered = false)
    }

    /// Opens `db`, registers the insurers, members, cards and facilities, and builds the router.
    pub async fn build(self, db: &TestDb) -> World {
        let options = onshi_store::StoreOptions {
            lock_wait: Some(self.lock_wait.unwrap_or(SERVER_LOCK_WAIT)),
            ..Default::default()
        };
        let store = db.open_with(options).await.unwrap();
        let key = MyNumberKey::from_bytes(&[4; 32]).unwrap();
        let (insurer_token, insurer_hash) = token::mint(TokenKind::Insurer).unwrap();
        let (society_token, society_hash) = token::mint(TokenKind::Insurer).unwrap();
        for (number, name, hash) in [
            (
                InsurerNumber::parse("01130012").unwrap(),
                "協会けんぽ",
                insurer_hash.as_str(),
            ),
            (society(), "試験健保", society_hash.as_str()),
        ] {
            store
                .create_insurer(&number, name, hash, NOW)
                .await
                .unwrap();
        }
        for m in &self.members {
            member(&store, &key, m).await;
        }
        let card_ca = Authority::create(CertKind::Card, NOW - Duration::days(100)).unwrap();
        let phone_ca = Authority::create(CertKind::Smartphone, NOW - Duration::days(100)).unwrap();
        let mut cards = std::collections::HashMap::new();
        let mut revoked = Vec::new();
        for c in &self.cards {
            let ca = if c.kind == CertKind::Card {
                &card_ca
            } else {
                &phone_ca
            };
            let (from, until) = if c.expired {
                (NOW - Duration::days(90), NOW - Duration::days(1))
            } else {
                (NOW - Duration::days(30), NOW + Duration::days(900))
            };
            let issued = ca.issue(from, until).unwrap();
            let person = key.person_ref(&MyNumber::parse(&my_number(c.person)).unwrap());
            let fp = onshi_pki::fingerprint(&issued.cert_der);
            store
                .record_certificate(&fp, ca.kind().as_str(), "s", &person, until, NOW)
                .await
                .unwrap();
            if c.registered {
                store
                    .register_for_insurance(&person, RegistrationChannel::Portal, None, &fp, NOW)
                    .await
                    .unwrap();
            }
            if c.revoked {
                revoked.push((issued.serial.clone(), NOW - Duration::days(1)));
            }
            cards.insert(
                c.label,
                VirtualCard::new(
                    ca.kind(),
                    c.label,
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
        for (code, name, hash) in [
            ("1311111111", "試験クリニック", &h1),
            ("1341111111", "試験薬局", &h2),
        ] {
            store
                .create_facility(&FacilityCode::parse(code).unwrap(), name, hash, NOW)
                .await
                .unwrap();
        }
        let clock = Arc::new(Mutex::new(NOW));
        let mut state = AppState::new(
            store.clone(),
            Arc::new(TestClock(Arc::clone(&clock))),
            key,
            Arc::new(Trust::new(&sources, StalePolicy::Reject, NOW).unwrap()),
        );
        state.audit_checkpoints = self.audit_checkpoints.clone();
        if let Some(limit) = self.archive_limit {
            state.archive_limit = limit;
        }
        if let Some(config) = self.rate_limits {
            state.rate_limits =
                Arc::new(onshi_server::eligibility::limits::RateLimits::new(config));
        }
        let (router, _) = router(state.clone());
        World {
            state,
            router,
            clock,
            f1,
            f2,
            insurer: insurer_token,
            society: society_token,
            cards,
            store,
        }
    }
}

async fn member(store: &Store, key: &MyNumberKey, spec: &MemberSpec) {
    let mn = my_number(spec.person);
    let mut m = MemberInput {
        insurer_number: &spec.insurer,
        symbol: "10",
        number: spec.number,
        branch: "00",
        name: "試験 花子",
        name_kana: "シケン ハナコ",
        birth_date: "1990-05-06",
        sex: "2",
        relationship: "1",
        qualified_from: spec.from,
        qualified_until: spec.until,
        copay_ratio: "30",
        my_number: &mn,
        loss_reason: if spec.until.is_empty() { "" } else { "03" },
        limit: if spec.number == "1" {
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
        card: if spec.number == "1" {
            CardInput {
                class: "01",
                issued: "2020-04-01",
                valid_from: "2020-04-01",
                address: "東京都千代田区霞が関1-2-2",
                post_number: "1008916",
                ..CardInput::default()
            }
        } else {
            CardInput::default()
        },
        employer: spec.employer,
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

impl World {
    /// A builder for a world of one's own.
    pub fn builder() -> WorldBuilder {
        WorldBuilder::default()
    }

    /// The cast most tests use. P (person 1) has a card and a phone; Q's card is revoked; R's
    /// expired; S never registered; T (person 5) moved from 協会けんぽ to the society in 2024.
    pub async fn standard(db: &TestDb) -> World {
        Self::standard_cast().build(db).await
    }

    /// The builder of [`World::standard`], for a test that changes a setting of it.
    pub fn standard_cast() -> WorldBuilder {
        let society = society();
        World::builder()
            .with_member("01130012", "1", "2020-04-01", "", 1)
            .with_member("01130012", "2", "2020-04-01", "", 2)
            .with_member("01130012", "3", "2020-04-01", "", 3)
            .with_member("01130012", "4", "2020-04-01", "", 4)
            .with_member("01130012", "77", "2015-04-01", "2024-03-31", 5)
            .with_member(society.as_str(), "5", "2024-04-01", "", 5)
            .with_card("valid", 1)
            .with_phone("phone", 1)
            .with_revoked_card("revoked", 2)
            .with_expired_card("expired", 3)
            .with_unregistered_card("unregistered", 4)
            .with_card("moved", 5)
    }

    /// Registers employer `code` of the standard insurer (オンシ製作所 in Tokyo unless `name`
    /// and `industry` say otherwise) through `POST /v1/employers`; returns the answer (with the
    /// employer's token).
    pub async fn add_employer(&self, code: &str, name: &str, industry: &str) -> Value {
        let (s, r) = self
            .call(
                Method::POST,
                "/v1/employers",
                Some(&self.insurer),
                serde_json::json!({"code": code, "name": name, "industry": industry, "prefecture": "13"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
        r
    }

    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Value,
    ) -> (StatusCode, Value) {
        let (status, _, body) = self.call_with_headers(method, uri, token, body).await;
        (status, body)
    }

    pub async fn call_with_headers(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Value,
    ) -> (StatusCode, header::HeaderMap, Value) {
        let (status, headers, bytes) = self.send(method, uri, token, body.to_string()).await;
        (
            status,
            headers,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// A page request with `cookies` and, for a POST, a form `body`: status, headers, text.
    pub async fn page(
        &self,
        method: Method,
        uri: &str,
        cookies: &[String],
        body: &str,
    ) -> (StatusCode, header::HeaderMap, String) {
        let mut req = Request::builder().method(method).uri(uri);
        if !cookies.is_empty() {
            req = req.header(header::COOKIE, cookies.join("; "));
        }
        if !body.is_empty() {
            req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let res = self
            .router
            .clone()
            .oneshot(req.body(Body::from(body.to_owned())).unwrap())
            .await
            .unwrap();
        let (status, headers) = (res.status(), res.headers().clone());
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
    }

    /// Sends `body` as it is (not JSON, say) and answers the status.
    /// A POST of `bytes` as `application/zip` (a checkup archive): status and JSON answer.
    pub async fn upload(
        &self,
        uri: &str,
        token: Option<&str>,
        bytes: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/zip");
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let res = self
            .router
            .clone()
            .oneshot(req.body(Body::from(bytes)).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    pub async fn call_raw(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: &str,
    ) -> StatusCode {
        self.send(method, uri, token, body.to_owned()).await.0
    }

    pub async fn send(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: String,
    ) -> (StatusCode, header::HeaderMap, axum::body::Bytes) {
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
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 64 << 20)
            .await
            .unwrap();
        (status, headers, bytes)
    }

    /// A challenge from `token`'s facility (or the portal), signed by `card`.
    pub async fn proof(&self, token: Option<&str>, card: &str) -> Value {
        self.proof_for(token, card, "check").await
    }

    /// A challenge from `token`'s facility for `purpose` (`check` or `registration`; the portal
    /// without a token), signed by `card`.
    pub async fn proof_for(&self, token: Option<&str>, card: &str, purpose: &str) -> Value {
        let (uri, body) = if token.is_some() {
            ("/v1/challenges", json!({"purpose": purpose}))
        } else {
            ("/v1/portal/challenges", json!({}))
        };
        let (s, c) = self.call(Method::POST, uri, token, body).await;
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

    pub async fn check(&self, token: &str, proof: &Value, date: &str) -> (StatusCode, Value) {
        let mut body = proof.clone();
        body["consultation_date"] = json!(date);
        body["consent"] = json!(["medication", "checkup"]);
        self.call(Method::POST, "/v1/eligibility/card", Some(token), body)
            .await
    }
}

/// The CSRF token of the first form of an HTML page.
pub fn form_token(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|t| t.split('"').next())
        .expect("a form with a CSRF token")
        .to_owned()
}
