//! Card proofs refused, each with its own problem type.

use crate::world::*;

#[tokio::test]
async fn bad_proofs_are_refused_each_with_its_own_reason() {
    for db in TestDb::all().await.unwrap() {
        let w = World::standard(&db).await;
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
