//! Mutual TLS: facilities without a client certificate of the network CA cannot connect, and a
//! token cannot be used over another facility's certificate.

use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use onshi_domain::{FacilityCode, FixedClock, MyNumberKey};
use onshi_pki::Authority;
use onshi_server::AppState;
use onshi_server::tls::{client_config, serve_tls, server_config};
use onshi_server::trust::Trust;
use onshi_store::testing::TestDb;
use onshi_store::token::{self, TokenKind};

#[tokio::test]
async fn mutual_tls_admits_only_the_networks_facilities() {
    // rustls checks certificates against the real clock, so they are made around it.
    let now = OffsetDateTime::now_utc();
    let ca = Authority::create_network(now - Duration::days(1)).unwrap();
    let (server_cert, server_key) = ca
        .issue_tls(
            "onshi",
            &["localhost"],
            now - Duration::days(1),
            now + Duration::days(30),
        )
        .unwrap();
    let clinic = ca
        .issue_tls(
            "1311111111",
            &[],
            now - Duration::days(1),
            now + Duration::days(30),
        )
        .unwrap();
    let pharmacy = ca
        .issue_tls(
            "1341111111",
            &[],
            now - Duration::days(1),
            now + Duration::days(30),
        )
        .unwrap();
    let stranger_ca = Authority::create_network(now - Duration::days(1)).unwrap();
    let stranger = stranger_ca
        .issue_tls(
            "1311111111",
            &[],
            now - Duration::days(1),
            now + Duration::days(30),
        )
        .unwrap();

    let db = TestDb::sqlite().unwrap();
    let store = db.open().await.unwrap();
    let (token, hash) = token::mint(TokenKind::Facility).unwrap();
    store
        .create_facility(
            &FacilityCode::parse("1311111111").unwrap(),
            "試験クリニック",
            &hash,
            now,
        )
        .await
        .unwrap();
    let state = AppState::new(
        store,
        Arc::new(FixedClock(now)),
        MyNumberKey::from_bytes(&[1; 32]).unwrap(),
        Arc::new(Trust::none()),
    );
    let config = server_config(
        server_cert.as_bytes(),
        server_key.as_bytes(),
        Some(ca.cert_pem().as_bytes()),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(serve_tls(
        listener,
        state,
        config,
        onshi_server::connections::ConnectionSettings::default(),
        std::future::pending(),
    ));
    let url = format!("https://localhost:{port}");

    let client = |identity: Option<&(String, String)>| {
        let cfg = client_config(
            ca.cert_pem().as_bytes(),
            identity.map(|(c, k)| (c.as_bytes(), k.as_bytes())),
        )
        .unwrap();
        reqwest::Client::builder()
            .use_preconfigured_tls(cfg)
            .build()
            .unwrap()
    };

    // The clinic's own certificate and token: served.
    let ok = client(Some(&clinic))
        .get(format!("{url}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let challenge = client(Some(&clinic))
        .post(format!("{url}/v1/challenges"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(challenge.status(), 201);

    // No client certificate, or one from another CA: no connection at all.
    assert!(
        client(None)
            .get(format!("{url}/healthz"))
            .send()
            .await
            .is_err()
    );
    assert!(
        client(Some(&stranger))
            .get(format!("{url}/healthz"))
            .send()
            .await
            .is_err()
    );

    // The clinic's token over the pharmacy's certificate: refused.
    let mixed = client(Some(&pharmacy))
        .post(format!("{url}/v1/challenges"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(mixed.status(), 403);
    let body: serde_json::Value = mixed.json().await.unwrap();
    assert_eq!(
        body["type"],
        "urn:onshi:problem:client-certificate-mismatch"
    );
}
