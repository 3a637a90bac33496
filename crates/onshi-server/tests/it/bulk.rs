//! Bulk look-ups (一括照会).

use crate::world::*;

#[tokio::test]
async fn a_bulk_lookup_answers_every_row_like_a_single_lookup() {
    for db in TestDb::all().await.unwrap() {
        // Unlimited: a fifth of the 10,000 rows match no one, far beyond the mismatch limit.
        let w = World::standard_cast()
            .with_rate_limits(RateLimitConfig::unlimited())
            .build(&db)
            .await;
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
                let mut item = json!({"insurer_number": ins, "symbol": sym, "number": num, "birth_date": "19900506",
                                      "branch": br, "arbitrary_identifier": format!("patient-{i}")});
                if i == 0 {
                    item["limit_consent"] = json!(true);
                }
                item
            })
            .collect();
        // An identifier longer than 100 characters is refused, naming its row.
        let mut long = items[..3].to_vec();
        long[2]["arbitrary_identifier"] = json!("x".repeat(101));
        // So is a row without its birth date (生年月日): a card number alone finds no one.
        long[1].as_object_mut().unwrap().remove("birth_date");
        let (s, p) = w
            .call(Method::POST, "/v1/bulk-checks", f1, json!({"items": long}))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
        let fields: Vec<&str> = p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(
            fields,
            ["items[1].birth_date", "items[2].arbitrary_identifier"]
        );
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
            let body = json!({"birth_date": "19900506", "insurer_number": ins, "symbol": sym, "number": num, "branch": br, "consultation_date": "2026-11-24"});
            singles.push(
                w.call(Method::POST, "/v1/eligibility/number", f1, body)
                    .await,
            );
        }
        // Each row comes back with its identifier; the one row with the patient's consent
        // shows the 限度額 certificate.
        assert_eq!(results[0]["request"]["limit_consent"], true);
        assert_eq!(
            results[0]["result"]["qualifications"][0]["limit_certificate"]["bracket_code"], "A03",
            "{}",
            results[0]
        );
        assert!(results[0]["result"]["limit_consent_at"].is_string());
        for (i, row) in results.iter().enumerate() {
            assert_eq!(
                row["request"]["arbitrary_identifier"],
                format!("patient-{i}")
            );
            let (status, single) = &singles[i % keys.len()];
            if i == 0 {
                continue;
            }
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

/// The documented maximum, 50,000 rows with birth dates and identifiers, is accepted; a body
/// over the bulk limit is answered 413 in problem details naming the limit.
#[tokio::test]
async fn a_bulk_lookup_of_fifty_thousand_rows_is_accepted() {
    let db = TestDb::sqlite().unwrap();
    let w = World::standard(&db).await;
    let items: Vec<Value> = (0..50_000)
        .map(|i| {
            json!({"insurer_number": "01130012", "symbol": "10", "number": format!("{}", 100_000 + i),
                   "branch": "00", "birth_date": "19900506",
                   "arbitrary_identifier": format!("patient-{i:08}-{}", "x".repeat(60))})
        })
        .collect();
    let body = json!({"consultation_date": "2026-11-24", "items": items});
    assert!(body.to_string().len() > 8 << 20, "a realistic size");
    let (s, receipt) = w
        .call(Method::POST, "/v1/bulk-checks", Some(&w.f1), body)
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{receipt}");
    assert_eq!(receipt["total"], 50_000);
    let (s, p) = w
        .call(
            Method::POST,
            "/v1/bulk-checks",
            Some(&w.f1),
            Value::String("x".repeat(onshi_server::BULK_BODY_LIMIT)),
        )
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(p["type"], "urn:onshi:problem:payload-too-large");
    assert!(p["detail"].as_str().unwrap().contains("16 MiB"), "{p}");
    db.cleanup().await;
}
