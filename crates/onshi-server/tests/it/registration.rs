//! Registration for insurance use (利用申込) and the person's own access history.

use crate::world::*;

#[tokio::test]
async fn registration_and_the_persons_own_access_history() {
    for db in TestDb::all().await.unwrap() {
        let w = World::standard(&db).await;
        let (f1, f2) = (Some(w.f1.as_str()), Some(w.f2.as_str()));
        // The unregistered card registers at a pharmacy's reader (facility 2 is 調剤).
        // A check's challenge cannot register a card: the challenge answers only its purpose.
        let (s, p) = w
            .call(
                Method::POST,
                "/v1/registrations",
                f2,
                w.proof(f2, "unregistered").await,
            )
            .await;
        assert_eq!(
            (s, p["type"].as_str()),
            (
                StatusCode::FORBIDDEN,
                Some("urn:onshi:problem:challenge-purpose")
            ),
            "{p}"
        );
        let proof = w.proof_for(f2, "unregistered", "registration").await;
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
