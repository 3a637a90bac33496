//! Card and number checks: validity codes and fields as the real interface gives them, 限度額 information only with consent.

use crate::world::*;

#[tokio::test]
async fn card_and_number_checks_answer_like_the_real_interface() {
    for db in TestDb::all().await.unwrap() {
        let w = World::standard(&db).await;
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
        // What the card says, as the insurer recorded it, and the insurer's name.
        let q = &r["qualifications"][0];
        assert_eq!(
            (
                &q["insurer_name"],
                &q["card_class"],
                &q["card_issued"],
                &q["card_valid_from"],
                &q["post_number"],
                &q["address"],
                &q["preschool"],
            ),
            (
                &json!("協会けんぽ"),
                &json!("01"),
                &json!("20200401"),
                &json!("20200401"),
                &json!("100-8916"),
                &json!("東京都千代田区霞が関1-2-2"),
                &json!(false),
            ),
            "{q}"
        );
        assert!(q.get("elderly_certificate").is_none() && q.get("loss_reason_code").is_none());
        assert_eq!(r["certificate_kind"], "card");
        assert_eq!(r["consents"].as_array().unwrap().len(), 2);
        assert_eq!(r["consents"][0]["expires_at"], "20261125180000");

        // An unknown field is refused by name, as in every other body.
        let mut extra = w.proof(f1, "valid").await;
        extra["pin"] = json!("1234");
        let (s, p) = w
            .call(Method::POST, "/v1/eligibility/card", f1, extra)
            .await;
        assert_eq!(
            (s, p["errors"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("pin")),
            "{p}"
        );

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
        let old_card = json!({"birth_date": "19900506", "insurer_number": "01130012", "symbol": "10", "number": "77", "branch": "00", "consultation_date": "20261124"});
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
        assert_eq!(r["new_qualification"]["insurer_name"], "試験健保");
        // The old qualification ended for another insurance (03); its card's defaults are the
        // terminal's: class 01, valid from the qualification's start.
        let old = &r["qualifications"][0];
        assert_eq!(
            (
                &old["loss_reason_code"],
                &old["card_class"],
                &old["card_valid_from"]
            ),
            (&json!("03"), &json!("01"), &old["qualified_from"]),
            "{old}"
        );
        let mut on_old_date = old_card.clone();
        on_old_date["consultation_date"] = json!("2024-03-31");
        let (_, r) = w
            .call(Method::POST, "/v1/eligibility/number", f1, on_old_date)
            .await;
        assert_eq!(r["validity_code"], 1);
        let unknown = json!({"birth_date": "19900506", "insurer_number": "01130012", "symbol": "10", "number": "999", "branch": "00"});
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
        let bad = json!({"birth_date": "19900506", "insurer_number": "01130013", "number": "1"});
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
        let w = World::standard(&db).await;
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
        assert_eq!(r["limit_consent_at"], "20261124180000");

        // Another facility has no consent of P's: nothing.
        let f2 = Some(w.f2.as_str());
        let mut body = w.proof(f2, "valid").await;
        body["consent"] = json!([]);
        let (_, r) = w.call(Method::POST, "/v1/eligibility/card", f2, body).await;
        assert_eq!(r["validity_code"], 1);
        assert!(limit(&r).is_null(), "consent is per facility: {r}");

        // By number, the request's consent flag decides.
        let card = json!({"birth_date": "19900506", "insurer_number": "01130012", "symbol": "10", "number": "1", "branch": "00", "consultation_date": "2026-11-24"});
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
        assert_eq!(r["limit_consent_at"], "20261124180000");

        // Before the certificate's start the consent is echoed but there is nothing to show.
        consented["consultation_date"] = json!("2026-03-31");
        let (_, r) = w
            .call(Method::POST, "/v1/eligibility/number", f1, consented)
            .await;
        assert_eq!(r["validity_code"], 1);
        assert!(limit(&r).is_null(), "{r}");
        assert_eq!(r["limit_consent_at"], "20261124180000");

        // A member without a certificate: consent, nothing to show.
        let other = json!({"birth_date": "19900506", "insurer_number": "01130012", "symbol": "10", "number": "2", "branch": "00", "limit_consent": true});
        let (_, r) = w
            .call(Method::POST, "/v1/eligibility/number", f1, other)
            .await;
        assert_eq!(r["validity_code"], 1);
        assert!(limit(&r).is_null(), "{r}");
        db.cleanup().await;
    }
}

/// Times and dates on the wire are Japan time, whatever the server's zone: at 00:30 on
/// 2026-11-25 in Japan (15:30 UTC on the 24th, while the world's CRLs are current) a check
/// without a consultation date is for the 25th, and the consents it records are stamped 00:30
/// on the 25th.
#[tokio::test]
async fn a_check_after_midnight_in_japan_is_for_that_japan_day() {
    for db in TestDb::all().await.unwrap() {
        let w = World::standard(&db).await;
        *w.clock.lock().unwrap() = datetime!(2026-11-24 15:30 UTC);
        let body = json!({"birth_date": "19900506", "insurer_number": "01130012", "symbol": "10", "number": "1", "branch": "00"});
        let (s, r) = w
            .call(Method::POST, "/v1/eligibility/number", Some(&w.f1), body)
            .await;
        assert_eq!(s, StatusCode::OK, "{r} ({})", db.backend);
        assert_eq!(r["consultation_date"], "20261125", "{}", db.backend);

        let proof = w.proof(Some(&w.f1), "valid").await;
        let mut body = proof.clone();
        body["consent"] = json!(["medication"]);
        let (s, r) = w
            .call(Method::POST, "/v1/eligibility/card", Some(&w.f1), body)
            .await;
        assert_eq!(s, StatusCode::OK, "{r} ({})", db.backend);
        assert_eq!(r["consultation_date"], "20261125");
        assert_eq!(r["consents"][0]["given_at"], "20261125003000");
        assert_eq!(r["consents"][0]["expires_at"], "20261126003000");
        db.cleanup().await;
    }
}
