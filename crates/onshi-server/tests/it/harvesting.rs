//! No harvesting by card number: the birth date is required, a mismatch answers no one, and a
//! facility whose look-ups keep matching no one (or that checks too fast) is refused with 429,
//! reported once in the audit log, and lets up when its allowance refills.

use crate::world::*;
use onshi_domain::rate::Rate;

fn key(number: &str, birth: Option<&str>) -> Value {
    let mut body = json!({"insurer_number": "01130012", "symbol": "10", "number": number,
                          "branch": "00", "consultation_date": "2026-11-24"});
    if let Some(b) = birth {
        body["birth_date"] = json!(b);
    }
    body
}

fn holds_personal_data(body: &Value) -> bool {
    let text = body.to_string();
    ["試験", "シケン", "1990-05-06", "19900506"]
        .iter()
        .any(|p| text.contains(p))
}

#[tokio::test]
async fn card_numbers_cannot_be_harvested() {
    for db in TestDb::all().await.unwrap() {
        let w = World::standard_cast()
            .with_rate_limits(RateLimitConfig {
                checks: Rate::new(400, Duration::minutes(1)),
                mismatches: Rate::new(20, Duration::hours(1)),
            })
            .build(&db)
            .await;
        let (f1, f2) = (Some(w.f1.as_str()), Some(w.f2.as_str()));
        let number = "/v1/eligibility/number";

        // A scan of card numbers without birth dates learns nothing: each is refused, naming
        // the birth date, and none of them counts as a mismatch.
        for n in 1..=100 {
            let (s, p) = w
                .call(Method::POST, number, f1, key(&n.to_string(), None))
                .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
            assert_eq!(p["errors"][0]["field"], "birth_date");
            assert!(!holds_personal_data(&p), "{p}");
        }
        // The right birth date answers; another answers 4 (該当資格なし) and nothing else.
        let (s, r) = w
            .call(Method::POST, number, f1, key("1", Some("19900506")))
            .await;
        assert_eq!((s, r["validity_code"].as_u64()), (StatusCode::OK, Some(1)));
        for day in 1..=20 {
            let guess = format!("1990-01-{day:02}");
            let (s, r) = w
                .call(Method::POST, number, f1, key("1", Some(&guess)))
                .await;
            assert_eq!((s, r["validity_code"].as_u64()), (StatusCode::OK, Some(4)));
            assert_eq!(r["qualifications"], json!([]), "{r}");
            assert!(!holds_personal_data(&r), "{r}");
        }
        // The 21st guess is refused before anything is read: even the right birth date.
        let (s, headers, p) = w
            .call_with_headers(Method::POST, number, f1, key("1", Some("19900506")))
            .await;
        assert_eq!(
            (s, p["type"].as_str()),
            (
                StatusCode::TOO_MANY_REQUESTS,
                Some("urn:onshi:problem:mismatch-limited")
            ),
            "{p}"
        );
        // 20 an hour: one comes back every 180 s.
        assert_eq!(headers[header::RETRY_AFTER], "180");
        assert!(!holds_personal_data(&p), "{p}");
        for _ in 0..5 {
            let (s, _) = w
                .call(Method::POST, number, f1, key("1", Some("19900506")))
                .await;
            assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
        }
        // Card checks are not look-ups by number: they go on.
        let card = w.proof(f1, "valid").await;
        let (s, r) = w.call(Method::POST, "/v1/eligibility/card", f1, card).await;
        assert_eq!(s, StatusCode::OK, "{r}");
        // Another facility is not affected.
        let (s, r) = w
            .call(Method::POST, number, f2, key("1", Some("19900506")))
            .await;
        assert_eq!((s, r["validity_code"].as_u64()), (StatusCode::OK, Some(1)));

        // The operator sees one audit entry for the episode, naming the facility and the limit.
        let alerts = w
            .store
            .audit_of_action(onshi_domain::AuditAction::RateLimited)
            .await
            .unwrap();
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert_eq!(
            (alerts[0].actor_kind.as_str(), alerts[0].actor_id.as_str()),
            ("facility", "1311111111")
        );

        // A bulk look-up is held to the same allowance: once it is used, its rows are refused.
        *w.clock.lock().unwrap() += Duration::minutes(10);
        let items: Vec<Value> = (0..10)
            .map(|i| {
                let mut k = key(if i == 9 { "1" } else { "999" }, Some("19900506"));
                k.as_object_mut().unwrap().remove("consultation_date");
                k
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
        let uri = format!(
            "/v1/bulk-checks/{}",
            receipt["reception_number"].as_str().unwrap()
        );
        let results = loop {
            let (_, st) = w.call(Method::GET, &uri, f1, Value::Null).await;
            if st["finished"] == true {
                break st["results"].as_array().unwrap().clone();
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        // Ten minutes gave three look-ups back: three rows answered 4, the rest refused.
        let answered = results
            .iter()
            .filter(|r| r["result"]["validity_code"] == 4)
            .count();
        let refused = results
            .iter()
            .filter(|r| r["error"]["status"] == 429)
            .count();
        assert_eq!((answered, refused), (3, 7), "{results:?}");
        assert!(results.iter().all(|r| !holds_personal_data(&r["result"])));

        // Waiting out the allowance lets the facility look up again.
        *w.clock.lock().unwrap() += Duration::hours(2);
        let (s, r) = w
            .call(Method::POST, number, f1, key("1", Some("19900506")))
            .await;
        assert_eq!((s, r["validity_code"].as_u64()), (StatusCode::OK, Some(1)));
        assert!(w.store.verify_audit().await.unwrap().is_ok());
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_facility_checking_too_fast_is_slowed_on_every_route() {
    for db in TestDb::all().await.unwrap() {
        let w = World::standard_cast()
            .with_rate_limits(RateLimitConfig {
                checks: Rate::new(5, Duration::minutes(1)),
                mismatches: Rate::new(100, Duration::hours(1)),
            })
            .build(&db)
            .await;
        let f1 = Some(w.f1.as_str());
        for _ in 0..5 {
            let (s, _) = w
                .call(
                    Method::POST,
                    "/v1/eligibility/number",
                    f1,
                    key("1", Some("19900506")),
                )
                .await;
            assert_eq!(s, StatusCode::OK);
        }
        let card = w.proof(f1, "valid").await;
        let (s, headers, p) = w
            .call_with_headers(Method::POST, "/v1/eligibility/card", f1, card)
            .await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{p}");
        assert_eq!(headers[header::RETRY_AFTER], "12");
        assert_eq!(p["type"], "urn:onshi:problem:rate-limited");
        // After 12 s one check is allowed again.
        *w.clock.lock().unwrap() += Duration::seconds(12);
        let (s, _) = w
            .call(
                Method::POST,
                "/v1/eligibility/number",
                f1,
                key("1", Some("19900506")),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        db.cleanup().await;
    }
}
