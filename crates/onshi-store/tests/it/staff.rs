//! Staff accounts: added once, locked after repeated failures, each TOTP step good once,
//! sessions ended by disabling; all audited.

use onshi_domain::AuditAction;
use onshi_store::testing::TestDb;
use onshi_store::{Actor, LOCK_AFTER, SessionTimes};
use time::Duration;
use time::macros::datetime;

#[tokio::test]
async fn accounts_lock_codes_are_single_use_and_disabling_ends_sessions() {
    let at = datetime!(2026-11-28 00:00 UTC);
    for db in TestDb::all().await.unwrap() {
        let store = db.open().await.unwrap();
        let admin = Actor::Operator("admin".into());
        store
            .create_account(
                &admin,
                "tanaka",
                "insurer",
                "01130012",
                "$argon2id$x",
                "sealed",
                at,
            )
            .await
            .unwrap();
        let again = store
            .create_account(&admin, "tanaka", "facility", "1311111111", "h", "s", at)
            .await;
        assert!(
            matches!(again, Err(onshi_store::StoreError::Conflict(_))),
            "{again:?}"
        );
        let account = store.account("tanaka").await.unwrap().unwrap();
        assert_eq!(
            (account.org_kind.as_str(), account.org_id.as_str()),
            ("insurer", "01130012")
        );

        // Failures lock the account at the fifth, audited.
        for n in 1..=LOCK_AFTER {
            let account = store.account("tanaka").await.unwrap().unwrap();
            let locked = store
                .sign_in_failed(&account, "wrong code", at)
                .await
                .unwrap();
            assert_eq!(locked, n == LOCK_AFTER, "failure {n}");
        }
        let account = store.account("tanaka").await.unwrap().unwrap();
        assert!(account.locked_until.is_some_and(|u| u > at));
        assert_eq!(
            store
                .audit_of_action(AuditAction::StaffLockedOut)
                .await
                .unwrap()
                .len(),
            1
        );

        // A step signs in once; the same or an earlier step again is a replay.
        let times = SessionTimes::default();
        assert!(
            store
                .sign_in(&account, 100, "s1", "c1", times, at)
                .await
                .unwrap()
        );
        assert!(
            !store
                .sign_in(&account, 100, "s2", "c2", times, at)
                .await
                .unwrap()
        );
        assert!(
            !store
                .sign_in(&account, 99, "s3", "c3", times, at)
                .await
                .unwrap()
        );
        let (signed, csrf) = store.staff_session("s1", times, at).await.unwrap().unwrap();
        assert_eq!((signed.login.as_str(), csrf.as_str()), ("tanaka", "c1"));
        assert!(
            store
                .staff_session("s2", times, at)
                .await
                .unwrap()
                .is_none()
        );
        // Idle too long: over.
        assert!(
            store
                .staff_session("s1", times, at + Duration::minutes(16))
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .sign_in(&account, 101, "s4", "c4", times, at)
                .await
                .unwrap()
        );
        store.disable_account(&admin, "tanaka", at).await.unwrap();
        assert!(
            store
                .staff_session("s4", times, at)
                .await
                .unwrap()
                .is_none(),
            "ended at once"
        );
        assert_eq!(
            store
                .audit_of_action(AuditAction::StaffLogin)
                .await
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            store
                .audit_of_action(AuditAction::AccountChange)
                .await
                .unwrap()
                .len(),
            2
        );
        assert!(store.verify_audit().await.unwrap().is_ok());
        db.cleanup().await;
    }
}
