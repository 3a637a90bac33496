//! API tokens: rotation with a grace period, revocation at once, both audited and announced
//! through the token generation; a token of one owner never opens another's.

use crate::common::*;
use onshi_domain::AuditAction;
use onshi_store::{Actor, TokenOwner};
use time::Duration;

#[tokio::test]
async fn tokens_rotate_with_a_grace_period_and_revoke_at_once() {
    for db in TestDb::all().await.unwrap() {
        let store = with_insurers(&db).await;
        let facility = clinic();
        store
            .create_facility(&facility, "試験クリニック", "fac-1", T0)
            .await
            .unwrap();
        let operator = Actor::Operator("ops".into());
        let found = |hash: &'static str, at| {
            let store = store.clone();
            async move {
                store
                    .facility_by_token_hash(hash, at)
                    .await
                    .unwrap()
                    .map(|(f, expires)| (f.code, expires))
            }
        };
        assert_eq!(found("fac-1", T0).await, Some((facility.clone(), None)));
        assert_eq!(
            found("hash-a", T0).await,
            None,
            "an insurer's token is not a facility's"
        );
        assert_eq!(store.token_generation().await.unwrap(), "");

        // Rotation: the new token works at once, the old one for the grace period.
        let rotation = store
            .rotate_token(
                TokenOwner::Facility(&facility),
                "fac-2",
                Duration::hours(24),
                T0,
                &operator,
            )
            .await
            .unwrap();
        let until = T0 + Duration::hours(24);
        assert_eq!((rotation.old_tokens, rotation.old_valid_until), (1, until));
        let g1 = store.token_generation().await.unwrap();
        assert_ne!(g1, "");
        assert_eq!(found("fac-2", T0).await, Some((facility.clone(), None)));
        assert_eq!(
            found("fac-1", T0 + Duration::hours(23)).await,
            Some((facility.clone(), Some(until)))
        );
        assert_eq!(found("fac-1", until).await, None);
        assert_eq!(found("fac-2", until).await, Some((facility.clone(), None)));

        // A second rotation does not stretch the first one's grace.
        store
            .rotate_token(
                TokenOwner::Facility(&facility),
                "fac-3",
                Duration::days(7),
                T0 + Duration::hours(1),
                &operator,
            )
            .await
            .unwrap();
        assert_eq!(found("fac-1", until).await, None);
        assert!(found("fac-2", until).await.is_some());

        // Revocation: every token of the owner, at once, those in their grace too.
        let at = T0 + Duration::hours(2);
        let revoked = store
            .revoke_tokens(TokenOwner::Facility(&facility), at, &operator)
            .await
            .unwrap();
        assert_eq!(revoked, 3);
        for hash in ["fac-1", "fac-2", "fac-3"] {
            assert_eq!(found(hash, at).await, None, "{hash}");
        }
        assert_ne!(store.token_generation().await.unwrap(), g1);
        // A new token after the revocation works; the revoked ones stay revoked.
        store
            .rotate_token(
                TokenOwner::Facility(&facility),
                "fac-4",
                Duration::ZERO,
                at,
                &operator,
            )
            .await
            .unwrap();
        assert!(found("fac-4", at).await.is_some());
        assert_eq!(found("fac-3", at).await, None);

        // Insurers alike; rotating with no grace ends the old token at once.
        let kyokai = kyokai();
        assert!(
            store
                .insurer_by_token_hash("hash-a", T0)
                .await
                .unwrap()
                .is_some()
        );
        store
            .rotate_token(
                TokenOwner::Insurer(&kyokai),
                "ins-2",
                Duration::ZERO,
                T1,
                &operator,
            )
            .await
            .unwrap();
        assert!(
            store
                .insurer_by_token_hash("hash-a", T1)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            store
                .insurer_by_token_hash("ins-2", T1)
                .await
                .unwrap()
                .map(|i| i.number),
            Some(kyokai.clone())
        );
        assert!(
            store
                .insurer_by_token_hash("hash-b", T1)
                .await
                .unwrap()
                .is_some(),
            "another insurer's token is untouched"
        );

        // An owner that is not registered: nothing written.
        let stranger = onshi_domain::FacilityCode::parse("1311111112").unwrap();
        assert!(matches!(
            store
                .rotate_token(
                    TokenOwner::Facility(&stranger),
                    "x",
                    Duration::ZERO,
                    T1,
                    &operator
                )
                .await,
            Err(onshi_store::StoreError::NotFound("facility"))
        ));
        assert!(
            store
                .facility_by_token_hash("x", T1)
                .await
                .unwrap()
                .is_none()
        );

        // Every change is in the audit log, by the operator, and the chain holds.
        let rotations = store
            .audit_of_action(AuditAction::TokenRotate)
            .await
            .unwrap();
        let revocations = store
            .audit_of_action(AuditAction::TokenRevoke)
            .await
            .unwrap();
        assert_eq!((rotations.len(), revocations.len()), (4, 1));
        assert!(
            rotations
                .iter()
                .all(|e| e.actor_kind == "operator" && e.actor_id == "ops")
        );
        assert!(store.verify_audit().await.unwrap().is_ok());
        db.cleanup().await;
    }
}
