//! Times that SQL compares, on both backends.

use crate::common::*;

#[tokio::test]
async fn times_within_one_second_compare_as_times() {
    for db in TestDb::all().await.unwrap() {
        let store = db.open().await.unwrap();
        let facility = clinic();
        let person = card_holder();
        issue_card(&store, &person).await;
        // Given at 09:00:00.7, so in force until 09:00:00.7 the next day.
        let given = T0 + time::Duration::milliseconds(700);
        answer(
            &store,
            &facility,
            &sealed(1, given),
            &person,
            &[ConsentKind::Medication],
            given,
        )
        .await
        .unwrap();
        let in_force = |at: OffsetDateTime| {
            let (store, facility) = (store.clone(), facility.clone());
            async move {
                !consents_of(&store, "fp1", Some(&facility), at)
                    .await
                    .unwrap()
                    .consents
                    .is_empty()
            }
        };
        let day = time::Duration::hours(24);
        for (ms, expected) in [
            (0, true),
            (500, true),
            (699, true),
            (700, false),
            (750, false),
        ] {
            let at = T0 + day + time::Duration::milliseconds(ms);
            assert_eq!(in_force(at).await, expected, "at {at} on {}", db.backend);
        }
        assert!(!in_force(given - time::Duration::milliseconds(50)).await);
        // A check reference is looked for since a time in the same second as its use.
        let c = sealed(2, given);
        store.consume_challenge(&c, given, &person).await.unwrap();
        for (ms, found) in [(0, true), (500, true), (700, true), (750, false)] {
            let since = T0 + time::Duration::milliseconds(ms);
            assert_eq!(
                store
                    .person_of_check(&c.id, "1311111111", since)
                    .await
                    .unwrap()
                    .is_some(),
                found,
                "since {since} on {}",
                db.backend
            );
        }
        db.cleanup().await;
    }
}

/// Rows that SQLite held before compared times were written fixed-width are rewritten by the
/// migration, and then compare as times.
#[tokio::test]
async fn earlier_sqlite_times_are_rewritten_fixed_width() {
    let db = TestDb::sqlite().unwrap();
    db.open().await.unwrap();
    db.execute_raw(
        "INSERT INTO consents (person_ref, facility_code, kind, given_at, expires_at) VALUES \
         ('p', '1311111111', 'medication', '2026-01-05T09:00:00Z', '2026-01-06T09:00:00.7Z'), \
         ('p', '1311111111', 'checkup', '2026-01-05T09:00:00.123456789Z', '2026-01-06T09:00:00.75Z')",
    )
    .await
    .unwrap();
    db.execute_raw(
        "INSERT INTO challenges (id, nonce, audience, purpose, created_at, expires_at, used_at) VALUES \
         ('c', '00', '1311111111', 'check', '2026-01-05T09:00:00.5Z', '2026-01-05T09:02:00.5Z', NULL)",
    )
    .await
    .unwrap();
    db.execute_raw("DELETE FROM schema_migrations WHERE version = 7")
        .await
        .unwrap();
    db.open().await.unwrap();
    let fixed = |sql: &'static str| async { db.query_count(sql).await.unwrap() };
    assert_eq!(
        fixed(
            "SELECT COUNT(*) FROM consents WHERE length(given_at) = 30 AND length(expires_at) = 30"
        )
        .await,
        2
    );
    assert_eq!(
        fixed(
            "SELECT COUNT(*) FROM consents WHERE given_at = '2026-01-05T09:00:00.000000000Z' \
             AND expires_at = '2026-01-06T09:00:00.700000000Z'"
        )
        .await,
        1
    );
    assert_eq!(
        fixed(
            "SELECT COUNT(*) FROM consents WHERE given_at = '2026-01-05T09:00:00.123456789Z' \
             AND expires_at > '2026-01-06T09:00:00.700000000Z'"
        )
        .await,
        1,
        "…00.75 is now after …00.7"
    );
    assert_eq!(
        fixed(
            "SELECT COUNT(*) FROM challenges WHERE created_at = '2026-01-05T09:00:00.500000000Z' \
             AND used_at IS NULL"
        )
        .await,
        1
    );
}
