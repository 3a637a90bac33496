//! The hash-chained audit log: one chain under concurrency, edits and deletions found.

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reads_and_writes_chain_into_one_log() {
    for db in TestDb::all().await.unwrap() {
        let store = with_insurers(&db).await;
        let a = actor(&kyokai());
        let facility = Actor::Facility(onshi_domain::FacilityCode::parse("1311234567").unwrap());
        // 600 checks through the group-commit writer, racing 20 member creations whose entries
        // commit inside their own transactions.
        let mut tasks = Vec::new();
        for i in 0..600 {
            let (store, facility) = (store.clone(), facility.clone());
            tasks.push(tokio::spawn(async move {
                store
                    .record_check(
                        T1,
                        &facility,
                        AuditAction::CheckNumber,
                        None,
                        &format!("validity={}", i % 5 + 1),
                    )
                    .await
            }));
        }
        for i in 0..20 {
            let (store, a) = (store.clone(), a.clone());
            tasks.push(tokio::spawn(async move {
                let m = member("01130012", &format!("{}", 500 + i), "2020-04-01", "", "");
                store
                    .create_member(&a, &m.key, &m.details, T0)
                    .await
                    .map(|_| ())
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(
            store.verify_audit().await.unwrap(),
            Ok(620),
            "every entry chained exactly once ({})",
            db.backend
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_audit_chain_finds_edits_and_deletions() {
    for db in TestDb::all().await.unwrap() {
        let store = with_insurers(&db).await;
        let a = actor(&kyokai());
        let mut ids = Vec::new();
        for i in 0..4 {
            let m = member("01130012", &format!("{i}"), "2020-04-01", "", "");
            ids.push(
                store
                    .create_member(&a, &m.key, &m.details, T0)
                    .await
                    .unwrap()
                    .id,
            );
        }
        store
            .list_members(&a, &kyokai(), None, None, 10, T1)
            .await
            .unwrap(); // 4 more entries
        assert_eq!(store.verify_audit().await.unwrap(), Ok(8), "{}", db.backend);

        // An edited entry is named, and so is everything after a deleted one.
        db.execute_raw("UPDATE audit_log SET actor_id = '06138010' WHERE seq = 3")
            .await
            .unwrap();
        let broken = store.verify_audit().await.unwrap().unwrap_err();
        assert_eq!(broken.seq, 3, "{}: {broken}", db.backend);
        assert!(broken.reason.contains("edited"), "{broken}");
        db.execute_raw("UPDATE audit_log SET actor_id = '01130012' WHERE seq = 3")
            .await
            .unwrap();
        assert_eq!(store.verify_audit().await.unwrap(), Ok(8));

        db.execute_raw("DELETE FROM audit_log WHERE seq = 5")
            .await
            .unwrap();
        let broken = store.verify_audit().await.unwrap().unwrap_err();
        assert_eq!(broken.seq, 5);
        assert!(broken.reason.contains("deleted"), "{broken}");
        db.cleanup().await;
    }
    for db in TestDb::all().await.unwrap() {
        let store = with_insurers(&db).await;
        let a = actor(&kyokai());
        let m = member("01130012", "1", "2020-04-01", "", "");
        store
            .create_member(&a, &m.key, &m.details, T0)
            .await
            .unwrap();
        store
            .list_members(&a, &kyokai(), None, None, 10, T1)
            .await
            .unwrap();
        db.execute_raw("DELETE FROM audit_log WHERE seq = 2")
            .await
            .unwrap();
        let broken = store.verify_audit().await.unwrap().unwrap_err();
        assert_eq!(
            broken.seq, 2,
            "removing the last entry is found too ({})",
            db.backend
        );
        db.cleanup().await;
    }
}
