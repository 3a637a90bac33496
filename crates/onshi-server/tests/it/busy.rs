//! A check while an import holds the registry: 503 busy, and the same proof answers later.

use crate::world::*;

/// While another writer holds the registry (a long import), a check is answered 503 `busy` with
/// `Retry-After` once the server's lock wait runs out, instead of being held until the writer
/// commits; nothing of it was done, so the same card proof answers once the registry is free.
#[tokio::test]
async fn a_check_while_the_registry_is_held_is_answered_busy_and_can_be_retried() {
    for db in TestDb::all().await.unwrap() {
        let w = World::standard_cast()
            .with_lock_wait(LOCK_WAIT)
            .build(&db)
            .await;
        let f1 = Some(w.f1.as_str());
        let by_number = json!({"birth_date": "19900506", "insurer_number": "01130012", "symbol": "10", "number": "1",
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
